// Which data a principal may see, for the services: the policy's scope at this instant, and the
// one-study visibility checks that stores, shares and grants need.
import type { Principal } from '../security/principal.js';
import { visibleScope, type AccessMode } from '../security/policy.js';
import type { DataScope, IndexStore } from '../store/index/index-store.js';

export class AccessControl {
  constructor(
    private readonly index: IndexStore,
    readonly mode: AccessMode = 'role',
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Undefined means everything; the scope is taken at call time, so a grant expires mid-session. */
  scope(p: Principal): DataScope | undefined {
    return visibleScope(p, this.mode, this.clock());
  }

  /** True when the study exists and the principal may see it. */
  async seesStudy(p: Principal, studyInstanceUid: string): Promise<boolean> {
    const rows = await this.index.query({
      level: 'STUDY', conditions: [{ column: 'StudyInstanceUID', match: { kind: 'single', value: studyInstanceUid } }],
      limit: 1, offset: 0, within: this.scope(p),
    });
    return rows.length > 0;
  }

  /**
   * True when a store of this instance may go ahead: its study is new or visible, and its SOP
   * Instance UID is new or stored in a visible study. Free when the principal sees everything.
   */
  async mayStoreInto(p: Principal, studyInstanceUid: string, sopInstanceUid: string): Promise<boolean> {
    if (this.scope(p) === undefined) return true;
    const existing = await this.index.getInstance(sopInstanceUid);
    if (existing && !(await this.seesStudy(p, existing.StudyInstanceUID))) return false;
    const study = await this.index.query({
      level: 'STUDY', conditions: [{ column: 'StudyInstanceUID', match: { kind: 'single', value: studyInstanceUid } }], limit: 1, offset: 0,
    });
    return study.length === 0 || (await this.seesStudy(p, studyInstanceUid));
  }
}

