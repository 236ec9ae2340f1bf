// What the DICOMweb routes share: the services they call and the limits they enforce.
import type { IngestService } from '../../services/ingest.js';
import type { QueryService } from '../../services/query.js';
import type { DeleteService, RenderService, RetrieveService } from '../../services/retrieve.js';

export interface DicomWebDeps {
  ingest: IngestService;
  query: QueryService;
  retrieve: RetrieveService;
  render: RenderService;
  deleter: DeleteService;
  limits: { maxBodyBytes: number; maxParts: number; maxInstanceBytes: number };
  /** Where the DICOMweb root is, as clients reach it (scheme://host:port/prefix), from the request. */
  baseUrl: (req: import('node:http').IncomingMessage) => string;
}
