// Public surface of dump/: builds a dump (.tar.gz of the file store's blocks over a
// range) for the dump jobs, the HTTP routes and the Support Packet.
export {
  type BuildDumpOptions,
  type DroppedBlock,
  type DumpBlock,
  type DumpMetadata,
  type DumpPhase,
  type DumpResult,
  DUMP_MANIFEST_VERSION,
  DumpError,
  DumpNoDataError,
  buildDump,
  compactTime,
  dumpFileName,
  packetMetadataYAML,
  pickBlocks,
  siteSlug,
} from './builder.ts';
