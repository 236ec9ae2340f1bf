// The `rampart` command: one verb per file in this folder.
import { isRampartError } from '../errors.js';
import { audit, usage as auditUsage } from './audit.js';
import { dicom, usage as dicomUsage } from './dicom.js';
import { fsck, usage as fsckUsage } from './fsck.js';
import { grant, usage as grantUsage } from './grant.js';
import { group, usage as groupUsage } from './group.js';
import { share, usage as shareUsage } from './share.js';
import { importCmd, usage as importUsage } from './import.js';
import { peer, usage as peerUsage } from './peer.js';
import { processIo, type Io } from './common.js';
import { scan, usage as scanUsage } from './scan.js';
import { serve, usage as serveUsage } from './serve.js';
import { token, usage as tokenUsage } from './token.js';
import { user, usage as userUsage } from './user.js';

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  serve, user, token, import: importCmd, fsck, peer, dicom, scan, audit, grant, group, share,
};
const USAGE: Record<string, string> = {
  serve: serveUsage, user: userUsage, token: tokenUsage, import: importUsage, fsck: fsckUsage, peer: peerUsage, dicom: dicomUsage,
  scan: scanUsage, audit: auditUsage, grant: grantUsage, group: groupUsage, share: shareUsage,
};

const HELP = `usage: rampart <command> [options]

  serve     run the node (DICOMweb over HTTP, HTTPS beyond loopback; DIMSE and DICOM TLS)
  import    ingest DICOM files and folders
  fsck      check the index against the stored blobs (--repair)
  user      add, list or remove local users; change a role, disable or enable; reset second factors
  token     create, list or revoke API tokens
  peer      add, list or remove the DICOM peers allowed to connect
  dicom     echo, store, find, move or get against any DICOM peer (SCU)
  grant     give users or groups access to a study or patient, list or remove grants
  group     add users to or remove them from local groups, delete or list groups
  share     create, list or revoke share links for people without an account
  scan      exposure self-audit of DICOM and web endpoints you run (--self: this node)
  audit     verify the tamper-evident audit trail, or export it (DICOM XML, FHIR, CSV)

Every command takes --data DIR (or RAMPART_DATA; default ./rampart-data) and --config FILE.`;

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') { io.out(HELP); return cmd ? 0 : 2; }
  // Own keys only: "constructor" or "toString" must be unknown commands, not Object's methods.
  const run = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!run) { io.err(`rampart: unknown command "${cmd}"\n\n${HELP}`); return 2; }
  try {
    return await run(rest, io);
  } catch (e) {
    const badArgs = (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ?? false;
    const msg = isRampartError(e) || badArgs ? (e as Error).message : `${(e as Error).message ?? e}`;
    // A mistyped flag is answered with the command's usage, as an unknown command is with the list.
    io.err(`rampart ${cmd}: ${msg}${badArgs ? `\n\nusage: ${USAGE[cmd]}` : ''}`);
    return isRampartError(e, 'bad-request') || badArgs ? 2 : 1;
  }
}
