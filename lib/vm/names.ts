import { z } from 'zod';

/**
 * Names that reach libvirt and virsh. A machine's name is its libvirt domain name, so
 * it is held to a DNS label: lowercase letters, digits and inner hyphens. Starting with
 * a letter also means no name can be read as a virsh option ("--help").
 */
const label = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const labelRule = (what: string) =>
  `${what} must be 1-63 characters of lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen`;

// A pattern, not a refinement, so that the OpenAPI document states the rule too.
const labelSchema = (what: string) =>
  z
    .string()
    .max(63, `${labelRule(what)}: too long`)
    .regex(label, labelRule(what));

export const machineNameSchema = labelSchema('machine name');
export const snapshotNameSchema = labelSchema('snapshot name');

/** Machine ids come from the database (a UUID or a serial); they name the workflow, so they stay plain. */
export const machineIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/, 'machine id must be 1-64 letters, digits and hyphens');

/** The libvirt network a template attaches to: the same rule as libvirt's own network names, kept narrow. */
export const networkNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'network name must be 1-64 letters, digits, dots, dashes and underscores',
  );

export const isMachineName = (s: string): boolean => label.test(s);
