/**
 * The device audit route's answer (`GET /api/v1/devices/{id}/audit`), as the server sends it and
 * the HMI's device page reads it.
 */
/** One entry as the API gives it. */
export interface DeviceAuditEntry {
  time: string;
  /** control: a point write; alarm: an acknowledge, shelve, ... of one of the device's alarms. */
  kind: 'control' | 'alarm';
  token: string;
  remote: string | null;
  previous: Record<string, unknown>;
  requested: Record<string, unknown>;
  outcome: 'ok' | 'error';
  new_state?: Record<string, unknown>;
  error_code?: string;
  message?: string;
}

export interface DeviceAuditReply {
  device_id: string;
  entries: DeviceAuditEntry[];
  /** The number of entries asked for: fewer came back when the trail holds fewer. */
  limit: number;
}
