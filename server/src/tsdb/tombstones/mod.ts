// Public surface of tsdb/tombstones.
export {
  type Tombstone,
  encodeTombstones,
  decodeTombstones,
  readTombstonesFile,
  writeTombstonesFile,
  MAGIC_TOMBSTONE,
} from './tombstones.ts';
