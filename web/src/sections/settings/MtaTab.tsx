/**
 * Settings → Mail flow: the `mta` section (SPEC §1): host name and greeting banner, size and recipient limits,
 * relay host and trusted networks, per-client limits, queue timing, TLS policies and recipient verification.
 * Each card saves its own fields only (a merge patch), with the version it was loaded from.
 */
import { Form, Input, Select, Switch, Typography } from 'antd';
import { SectionForm, type Doc } from './SectionForm';
import { emptyToNull, Grid, ListInput, Num, pick, TLS_OUTBOUND_OPTIONS } from './fields';

const MIB = 1024 * 1024;

const general = {
  toForm: (s: Doc): Doc => ({ ...s, messageSizeLimit: typeof s.messageSizeLimit === 'number' ? Math.round(s.messageSizeLimit / MIB) : s.messageSizeLimit, relayHost: s.relayHost ?? '' }),
  fromForm: (v: Doc): Doc => {
    const out = pick(v, ['hostname', 'banner', 'messageSizeLimit', 'maxRecipients', 'relayHost', 'trustedNetworks', 'authRequireTls']);
    if (typeof out.messageSizeLimit === 'number') out.messageSizeLimit *= MIB;
    out.relayHost = emptyToNull(out.relayHost);
    return out;
  },
};

export function MtaTab() {
  return (
    <>
      <SectionForm section="mta" title="Mail flow" toForm={general.toForm} fromForm={general.fromForm}>
        <Grid>
          <Form.Item name="hostname" label="Host name" tooltip="The name this gateway uses in its greeting, in HELO/EHLO and in Received headers." rules={[{ required: true, message: 'Give the host name' }]}>
            <Input autoComplete="off" />
          </Form.Item>
          <Form.Item name="banner" label="Greeting banner" tooltip="Text after the host name in the SMTP greeting: 220 host ESMTP banner">
            <Input placeholder="(none)" maxLength={200} />
          </Form.Item>
          <Form.Item name="relayHost" label="Relay host" tooltip="The next hop for mail to every other domain, host[:port]; [host] skips the MX lookup. Empty: delivery by MX lookup.">
            <Input placeholder="empty: MX lookup" autoComplete="off" />
          </Form.Item>
          <Form.Item name="messageSizeLimit" label="Largest message" tooltip="0 = no limit">
            <Num min={0} unit="MiB" />
          </Form.Item>
          <Form.Item name="maxRecipients" label="Recipients per message">
            <Num min={1} max={100000} />
          </Form.Item>
          <Form.Item name="authRequireTls" label="Sign-in (AUTH) only after STARTTLS" valuePropName="checked">
            <Switch />
          </Form.Item>
        </Grid>
        <Form.Item name="trustedNetworks" label="Trusted networks" tooltip="Clients in these networks (CIDR) may relay mail to any domain. Keep it short: an open relay is abused within hours.">
          <ListInput placeholder="e.g. 10.0.0.0/8 (Enter after each)" />
        </Form.Item>
      </SectionForm>

      <SectionForm section="mta" part="tls" title="TLS policy" fromForm={(v) => pick(v, ['inbound', 'clientCertificate', 'outbound'])}>
        <Grid>
          <Form.Item name="inbound" label="Inbound STARTTLS">
            <Select options={[{ value: 'none', label: 'none: not offered' }, { value: 'may', label: 'may: offered' }, { value: 'require', label: 'require: no mail without TLS' }]} />
          </Form.Item>
          <Form.Item name="clientCertificate" label="Client certificates">
            <Select options={[{ value: 'ignore', label: 'ignore' }, { value: 'request', label: 'request' }, { value: 'require', label: 'require' }]} />
          </Form.Item>
          <Form.Item name="outbound" label="Outbound TLS (default)" tooltip="Per-domain overrides are set under Domains and routing.">
            <Select options={TLS_OUTBOUND_OPTIONS} />
          </Form.Item>
        </Grid>
      </SectionForm>

      <SectionForm section="mta" part="limits" title="Client limits">
        <Grid>
          <Form.Item name="maxConnections" label="Connections in total"><Num min={1} /></Form.Item>
          <Form.Item name="connectionsPerClient" label="Connections per client IP"><Num min={1} /></Form.Item>
          <Form.Item name="connectionRatePerClient" label="New connections per minute per client" tooltip="0 = off"><Num min={0} /></Form.Item>
          <Form.Item name="messageRatePerClient" label="Messages per minute per client" tooltip="0 = off"><Num min={0} /></Form.Item>
          <Form.Item name="greetPause" label="Greeting pause" tooltip="Wait before greeting untrusted clients; a client that talks first is refused. 0 = greet at once."><Num min={0} max={30000} unit="ms" /></Form.Item>
          <Form.Item name="commandTimeout" label="Command timeout"><Num min={1} unit="s" /></Form.Item>
          <Form.Item name="dataTimeout" label="Data timeout"><Num min={1} unit="s" /></Form.Item>
        </Grid>
      </SectionForm>

      <SectionForm section="mta" part="queue" title="Delivery queue">
        <Grid>
          <Form.Item name="lifetime" label="Give up and bounce after" tooltip="Seconds a message may stay undelivered"><Num min={0} unit="s" /></Form.Item>
          <Form.Item name="bounceLifetime" label="Bounces given up after"><Num min={0} unit="s" /></Form.Item>
          <Form.Item name="retryInitial" label="First retry after"><Num min={1} unit="s" /></Form.Item>
          <Form.Item name="retryMax" label="Longest retry interval"><Num min={1} unit="s" /></Form.Item>
          <Form.Item name="destinationConcurrency" label="Connections per destination"><Num min={1} /></Form.Item>
          <Form.Item name="connectTimeout" label="Connect timeout"><Num min={1} unit="s" /></Form.Item>
        </Grid>
      </SectionForm>

      <SectionForm section="mta" part="recipientVerification" title="Recipient verification">
        <Grid>
          <Form.Item name="method" label="Method">
            <Select options={[{ value: 'off', label: 'off' }, { value: 'static', label: 'static: the list below' }, { value: 'callout', label: "callout: ask the domain's next hop" }]} />
          </Form.Item>
          <Form.Item name="calloutTimeout" label="Callout timeout"><Num min={1} unit="s" /></Form.Item>
          <Form.Item name="rejectUnresolvableDomain" label="Refuse relayed recipients of domains without MX or address" valuePropName="checked"><Switch /></Form.Item>
        </Grid>
        <Form.Item name="staticList" label="Existing recipients" extra={<Typography.Text type="secondary">Addresses, or @domain for a whole domain (method static).</Typography.Text>}>
          <ListInput placeholder="user@example.com, @example.org" />
        </Form.Item>
      </SectionForm>
    </>
  );
}
