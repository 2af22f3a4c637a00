/** The workflow types the hmm worker registers: workflow functions only (a unit test holds this). */
export { hmmAnalysis } from './hmm';
export { hmmRefit } from './hmm-refit';
