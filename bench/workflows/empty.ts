/** No steps at all: what one workflow costs the server, start to completion. */
export async function emptyWorkflow(): Promise<void> {}
