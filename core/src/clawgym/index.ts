/** ClawGym task directories (`data_entry.json` + `input_files/` + `reward/`): reading and validation. */
export * from './schema';
export * from './json';
export * from './task';
export * from './find';
