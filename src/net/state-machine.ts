// The DICOM upper layer state machine, PS3.8 section 9.2: states Sta1..Sta13, events
// Evt1..Evt19, and Table 9-10 as one transition table keyed by [event, state]. A pair that
// is not in the table cannot happen for a correct local user; for events from the peer the
// table is complete.

export type State =
  | 'Sta1' // Idle
  | 'Sta2' // Transport connection open (awaiting A-ASSOCIATE-RQ PDU)
  | 'Sta3' // Awaiting local A-ASSOCIATE response primitive
  | 'Sta4' // Awaiting transport connection opening to complete
  | 'Sta5' // Awaiting A-ASSOCIATE-AC or A-ASSOCIATE-RJ PDU
  | 'Sta6' // Association established and ready for data transfer
  | 'Sta7' // Awaiting A-RELEASE-RP PDU
  | 'Sta8' // Awaiting local A-RELEASE response primitive
  | 'Sta9' // Release collision requestor side; awaiting A-RELEASE response primitive
  | 'Sta10' // Release collision acceptor side; awaiting A-RELEASE-RP PDU
  | 'Sta11' // Release collision requestor side; awaiting A-RELEASE-RP PDU
  | 'Sta12' // Release collision acceptor side; awaiting A-RELEASE response primitive
  | 'Sta13'; // Awaiting Transport Connection Close Indication

export type Event =
  | 'Evt1' // A-ASSOCIATE request (local user)
  | 'Evt2' // Transport connect confirmation
  | 'Evt3' // A-ASSOCIATE-AC PDU received
  | 'Evt4' // A-ASSOCIATE-RJ PDU received
  | 'Evt5' // Transport connection indication
  | 'Evt6' // A-ASSOCIATE-RQ PDU received
  | 'Evt7' // A-ASSOCIATE response primitive (accept)
  | 'Evt8' // A-ASSOCIATE response primitive (reject)
  | 'Evt9' // P-DATA request primitive
  | 'Evt10' // P-DATA-TF PDU received
  | 'Evt11' // A-RELEASE request primitive
  | 'Evt12' // A-RELEASE-RQ PDU received
  | 'Evt13' // A-RELEASE-RP PDU received
  | 'Evt14' // A-RELEASE response primitive
  | 'Evt15' // A-ABORT request primitive
  | 'Evt16' // A-ABORT PDU received
  | 'Evt17' // Transport connection closed indication
  | 'Evt18' // ARTIM timer expired
  | 'Evt19'; // Unrecognized or invalid PDU received

export type Action =
  | 'AE-1' | 'AE-2' | 'AE-3' | 'AE-4' | 'AE-5' | 'AE-6' | 'AE-7' | 'AE-8'
  | 'DT-1' | 'DT-2'
  | 'AR-1' | 'AR-2' | 'AR-3' | 'AR-4' | 'AR-5' | 'AR-6' | 'AR-7' | 'AR-8' | 'AR-9' | 'AR-10'
  | 'AA-1' | 'AA-2' | 'AA-3' | 'AA-4' | 'AA-5' | 'AA-6' | 'AA-7' | 'AA-8';

/** The state each action leads to (AR-8 depends on the role; AE-6 on acceptability). */
export const NEXT_STATE: Record<Action, State | 'role' | 'decide'> = {
  'AE-1': 'Sta4', 'AE-2': 'Sta5', 'AE-3': 'Sta6', 'AE-4': 'Sta1', 'AE-5': 'Sta2', 'AE-6': 'decide', 'AE-7': 'Sta6', 'AE-8': 'Sta13',
  'DT-1': 'Sta6', 'DT-2': 'Sta6',
  'AR-1': 'Sta7', 'AR-2': 'Sta8', 'AR-3': 'Sta1', 'AR-4': 'Sta13', 'AR-5': 'Sta1', 'AR-6': 'Sta7', 'AR-7': 'Sta8',
  'AR-8': 'role', 'AR-9': 'Sta11', 'AR-10': 'Sta12',
  'AA-1': 'Sta13', 'AA-2': 'Sta1', 'AA-3': 'Sta1', 'AA-4': 'Sta1', 'AA-5': 'Sta1', 'AA-6': 'Sta13', 'AA-7': 'Sta13', 'AA-8': 'Sta13',
};

const S = (list: string): State[] => list.split(' ').map((n) => `Sta${n}` as State);
const row = (entries: [State[], Action][]): Partial<Record<State, Action>> => {
  const r: Partial<Record<State, Action>> = {};
  for (const [states, action] of entries) for (const s of states) r[s] = action;
  return r;
};

/** PS3.8 Table 9-10. */
export const TABLE: Record<Event, Partial<Record<State, Action>>> = {
  Evt1: row([[S('1'), 'AE-1']]),
  Evt2: row([[S('4'), 'AE-2']]),
  Evt3: row([[S('2'), 'AA-1'], [S('3 6 7 8 9 10 11 12'), 'AA-8'], [S('5'), 'AE-3'], [S('13'), 'AA-6']]),
  Evt4: row([[S('2'), 'AA-1'], [S('3 6 7 8 9 10 11 12'), 'AA-8'], [S('5'), 'AE-4'], [S('13'), 'AA-6']]),
  Evt5: row([[S('1'), 'AE-5']]),
  Evt6: row([[S('2'), 'AE-6'], [S('3 5 6 7 8 9 10 11 12'), 'AA-8'], [S('13'), 'AA-7']]),
  Evt7: row([[S('3'), 'AE-7']]),
  Evt8: row([[S('3'), 'AE-8']]),
  Evt9: row([[S('6'), 'DT-1'], [S('8'), 'AR-7']]),
  Evt10: row([[S('2'), 'AA-1'], [S('3 5 8 9 10 11 12'), 'AA-8'], [S('6'), 'DT-2'], [S('7'), 'AR-6'], [S('13'), 'AA-6']]),
  Evt11: row([[S('6'), 'AR-1']]),
  Evt12: row([[S('2'), 'AA-1'], [S('3 5 8 9 10 11 12'), 'AA-8'], [S('6'), 'AR-2'], [S('7'), 'AR-8'], [S('13'), 'AA-6']]),
  Evt13: row([[S('2'), 'AA-1'], [S('3 5 6 8 9 12'), 'AA-8'], [S('7 11'), 'AR-3'], [S('10'), 'AR-10'], [S('13'), 'AA-6']]),
  Evt14: row([[S('8 12'), 'AR-4'], [S('9'), 'AR-9']]),
  Evt15: row([[S('3 5 6 7 8 9 10 11 12'), 'AA-1'], [S('4'), 'AA-2']]),
  Evt16: row([[S('2 13'), 'AA-2'], [S('3 5 6 7 8 9 10 11 12'), 'AA-3']]),
  Evt17: row([[S('2'), 'AA-5'], [S('3 4 5 6 7 8 9 10 11 12'), 'AA-4'], [S('13'), 'AR-5']]),
  Evt18: row([[S('2 13'), 'AA-2']]),
  Evt19: row([[S('2'), 'AA-1'], [S('3 5 6 7 8 9 10 11 12'), 'AA-8'], [S('13'), 'AA-7']]),
};

export function transition(event: Event, state: State): Action | undefined {
  return TABLE[event][state];
}
