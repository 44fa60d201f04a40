/**
 * The alarm actions of the page (acknowledge, shelve, out of service) and the journal: REST calls with the
 * page's token. A refusal (a viewer's token, an alarm already acknowledged by someone else)
 * comes back as an Error with the gateway's own message, ready to show.
 */
import type { AlarmActionReply, AlarmEventsReply } from '../protocol/alarms.js';

export class AlarmApi {
  constructor(private readonly token: string | null) {}

  ack(ids: string[]): Promise<AlarmActionReply> {
    return this.call<AlarmActionReply>('POST', '/api/v1/alarms/ack', { ids });
  }

  shelve(id: string, forS: number): Promise<AlarmActionReply> {
    return this.call<AlarmActionReply>('POST', `/api/v1/alarms/${encodeURIComponent(id)}/shelve`, { for: forS });
  }

  unshelve(id: string): Promise<AlarmActionReply> {
    return this.call<AlarmActionReply>('POST', `/api/v1/alarms/${encodeURIComponent(id)}/unshelve`, {});
  }

  /** Role admin: the alarm is not annunciated until it is returned to service. */
  outOfService(id: string, comment: string): Promise<AlarmActionReply> {
    return this.call<AlarmActionReply>('POST', `/api/v1/alarms/${encodeURIComponent(id)}/out_of_service`, comment === '' ? {} : { comment });
  }

  returnToService(id: string): Promise<AlarmActionReply> {
    return this.call<AlarmActionReply>('POST', `/api/v1/alarms/${encodeURIComponent(id)}/return_to_service`, {});
  }

  journal(limit: number): Promise<AlarmEventsReply> {
    return this.call<AlarmEventsReply>('GET', `/api/v1/alarms/events?limit=${limit}`);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), cache: 'no-store' });
    } catch {
      throw new Error('The gateway does not answer (network down or gateway restarting).');
    }
    const json = (await res.json().catch(() => null)) as ({ message?: string } & T) | null;
    if (!res.ok) throw new Error(json?.message ?? `The gateway answered ${res.status}.`);
    return json as T;
  }
}
