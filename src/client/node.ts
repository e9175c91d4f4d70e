// `valet/client/node`: what only Node can have.
export { FileMutationStorage } from './file-storage.js';
