// `rampart grant add --user U|--group G --study UID|--patient ID [--expires 30d]`, `grant list`
// (break-glass openings included, flagged), `grant remove ID`.
import { openNode } from '../app.js';
import { systemPrincipal } from '../security/principal.js';
import type { GrantView } from '../services/grants.js';
import { configFrom, parse, parseDuration, type Io } from './common.js';

export const usage = 'rampart grant add --user NAME|--group GROUP --study UID|--patient ID [--expires 30d]\nrampart grant list [--user NAME|--group GROUP] [--break-glass] [--json]\nrampart grant remove ID';

const line = (g: GrantView): string => [
  g.id, `${g.subjectKind} ${g.subjectName}`, g.studyInstanceUid ? `study ${g.studyInstanceUid}` : `patient ${g.patientId}`,
  `expires ${g.expiresAt ?? 'never'}`, `by ${g.grantedBy}`, g.kind === 'break-glass' ? `BREAK-GLASS: ${JSON.stringify(g.reason)}` : '',
].filter(Boolean).join('\t');

export async function grant(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    user: { type: 'string' }, group: { type: 'string' }, study: { type: 'string' }, patient: { type: 'string' },
    expires: { type: 'string' }, 'break-glass': { type: 'boolean', default: false },
  });
  const [verb, id] = positionals;
  if (values.help || !verb) { io.out(usage); return values.help ? 0 : 2; }
  const node = await openNode(configFrom(values));
  const me = systemPrincipal();
  try {
    switch (verb) {
      case 'add': {
        const g = await node.grants.add(me, {
          user: values.user, group: values.group, studyInstanceUid: values.study, patientId: values.patient,
          ttlMs: values.expires ? parseDuration(values.expires) : undefined,
        });
        if (values.json) io.out(JSON.stringify(g));
        else io.out(`grant ${g.id}: ${g.subjectKind} ${g.subjectName} -> ${g.studyInstanceUid ? `study ${g.studyInstanceUid}` : `patient ${g.patientId}`}, expires ${g.expiresAt ?? 'never'}`);
        return 0;
      }
      case 'list': {
        let list = await node.grants.list(me, values['break-glass'] ? { kind: 'break-glass' } : {});
        if (values.user) list = list.filter((g) => g.subjectKind === 'user' && g.subjectName === values.user);
        if (values.group) list = list.filter((g) => g.subjectKind === 'group' && g.subject === values.group);
        if (values.json) io.out(JSON.stringify(list));
        else for (const g of list) io.out(line(g));
        return 0;
      }
      case 'remove': {
        if (!id) { io.err(usage); return 2; }
        await node.grants.remove(me, id);
        io.out(`grant ${id} removed`);
        return 0;
      }
      default: io.err(usage); return 2;
    }
  } finally {
    await node.close();
  }
}
