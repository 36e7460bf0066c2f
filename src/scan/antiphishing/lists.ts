/**
 * Small word and domain lists of the anti-phishing module (facts, kept short on purpose): free-mail providers,
 * click-tracking and link-protection redirectors, the account/security words of phishing domain names, and
 * the service words that may stand next to a brand in a genuine display name. docs/antiphishing.md lists them.
 */

/** Free-mail providers: anybody can get an address there (registrable domains). */
export const FREEMAIL_DOMAINS: ReadonlySet<string> = new Set([
  'gmail.com', 'googlemail.com', 'ymail.com', 'rocketmail.com', 'aol.com', 'aim.com', 'msn.com', 'icloud.com',
  'me.com', 'mac.com', 'gmx.com', 'gmx.de', 'gmx.net', 'gmx.at', 'gmx.ch', 'web.de', 'mail.com', 'email.com',
  'usa.com', 'protonmail.com', 'protonmail.ch', 'proton.me', 'pm.me', 'tutanota.com', 'tutanota.de', 'tuta.io',
  'yandex.ru', 'yandex.com', 'ya.ru', 'mail.ru', 'bk.ru', 'inbox.ru', 'list.ru', 'rambler.ru', 'qq.com', '163.com',
  '126.com', 'yeah.net', 'sina.com', 'sohu.com', 'zoho.com', 'zohomail.com', 'fastmail.com', 'fastmail.fm',
  'hushmail.com', 'laposte.net', 'orange.fr', 'wanadoo.fr', 'free.fr', 'sfr.fr', 'libero.it', 'virgilio.it',
  't-online.de', 'freenet.de', 'rediffmail.com', 'naver.com', 'daum.net', 'hanmail.net', 'seznam.cz', 'wp.pl',
  'o2.pl', 'interia.pl', 'onet.pl', 'mailinator.com', 'lycos.com', 'excite.com', 'juno.com', 'netzero.net',
  'earthlink.net', 'sbcglobal.net', 'bellsouth.net', 'cox.net',
  'btinternet.com', 'sky.com', 'ntlworld.com', 'shaw.ca', 'rogers.com', 'sympatico.ca', 'bigpond.com',
  'optusnet.com.au', 'xtra.co.nz', 'uol.com.br', 'bol.com.br', 'terra.com.br', 'yahoo.com.br',
]);

/** Free-mail provider names that exist under many country suffixes (`yahoo.co.uk`, `hotmail.fr`, `outlook.de`). */
export const FREEMAIL_LABELS: ReadonlySet<string> = new Set(['yahoo', 'hotmail', 'outlook', 'live', 'gmx', 'aol']);

/**
 * Click-tracking services of e-mail platforms and link-protection rewriters (registrable domains): a link through
 * them shows nothing of its destination, and legitimate bulk mail uses them all the time.
 */
export const TRACKING_DOMAINS: ReadonlySet<string> = new Set([
  'list-manage.com', 'mailchimp.com', 'mcsv.net', 'mandrillapp.com', 'sendgrid.net', 'sendgrid.com', 'mailgun.org',
  'mailgun.net', 'rs6.net', 'constantcontact.com', 'createsend.com', 'createsend1.com', 'cmail19.com', 'cmail20.com',
  'exacttarget.com', 'hubspotlinks.com', 'hubspotemail.net', 'hs-sites.com', 'mjt.lu', 'mailjet.com', 'sendibt3.com',
  'sendibm1.com', 'klaviyomail.com', 'klaviyo.com', 'mktoweb.com', 'mkt.com', 'awstrack.me', 'sparkpostmail.com',
  'pstmrk.it', 'mlsend.com', 'convertkit-mail.com', 'convertkit-mail2.com', 'ck.page', 'substack.com', 'beehiiv.com',
  'campaign-archive.com', 'icptrack.com', 'aweber.com', 'gr8.com', 'emltrk.com', 'rsgsv.net', 'ctctcdn.com',
  'salesforce.com', 'pardot.com', 'marketo.com', 'eloqua.com', 'en25.com', 'bmetrack.com', 'emailsrvr.com',
  'lyris.net', 'topica.com', 'mailshell.com', 'imakenews.net', 'imakenews.com', 'ed10.net', 'ed4.net',
  'responsys.net', 'rsys2.net', 'rsys5.net', 'e-dialog.com', 'delivery.net', 'clickserve.cc-dt.com',
  // link protection (rewritten by the recipient's or sender's security gateway)
  'urldefense.com', 'urldefense.proofpoint.com', 'proofpoint.com', 'mimecast.com', 'mimecastprotect.com',
  'cudasvc.com', 'barracuda.com', 'trendmicro.com', 'messagelabs.com', 'fireeye.com', 'sophos.com',
]);

/**
 * Words of phishing domain names that ask for the reader's account: next to a brand keyword they turn
 * "brand in another domain" into a strong signal. Whole tokens (split on `.` and `-`).
 */
export const LURE_TOKENS: ReadonlySet<string> = new Set([
  'login', 'logon', 'log', 'signin', 'sign', 'secure', 'security', 'verify', 'verification', 'verified', 'validate',
  'validation', 'account', 'accounts', 'acct', 'update', 'updates', 'confirm', 'confirmation', 'billing', 'webscr',
  'unlock', 'locked', 'suspend', 'suspended', 'recover', 'recovery', 'password', 'passwd', 'wallet', 'alert',
  'alerts', 'restore', 'unusual', 'auth', 'authenticate', 'authentication', 'support', 'helpdesk', 'id', 'sso',
  'reset', 'reactivate', 'refund', 'resolution', 'limited', 'limitation', 'session', 'portal', 'customer',
]);

/** Longer lure words also found inside a label (`paypalsecurelogin`); at least 5 letters each. */
export const LURE_SUBSTRINGS: readonly string[] = [
  'login', 'logon', 'signin', 'secure', 'verif', 'validat', 'account', 'update', 'confirm', 'billing', 'webscr',
  'unlock', 'suspend', 'recover', 'password', 'passwd', 'wallet', 'authenticat', 'support', 'helpdesk', 'reactivat',
  'refund',
];

/**
 * Words that may stand next to a brand's name in a genuine display name ("Apple Support", "Chase Alerts",
 * "Amazon.com"): with a generic brand name (a common word or first name) only these may follow or precede it.
 */
export const SERVICE_WORDS: ReadonlySet<string> = new Set([
  'support', 'team', 'service', 'services', 'customer', 'customers', 'care', 'help', 'helpdesk', 'desk', 'security',
  'secure', 'alert', 'alerts', 'notification', 'notifications', 'notice', 'notices', 'notify', 'account', 'accounts',
  'billing', 'payment', 'payments', 'pay', 'online', 'banking', 'bank', 'card', 'cards', 'mail', 'email', 'e', 'noreply',
  'no', 'reply', 'do', 'not', 'donotreply', 'info', 'information', 'center', 'centre', 'official', 'inc', 'llc', 'ltd',
  'corp', 'corporation', 'store', 'shop', 'prime', 'id', 'verification', 'verify', 'update', 'updates', 'admin',
  'administrator', 'message', 'messages', 'system', 'systems', 'department', 'dept', 'com', 'net', 'org', 'co', 'uk',
  'us', 'the', 'your', 'my', 'express', 'delivery', 'deliveries', 'shipping', 'shipment', 'parcel', 'parcels', 'tracking',
  'order', 'orders', 'invoice', 'invoices', 'receipt', 'receipts', 'wallet', 'web', 'services', 'cloud', 'drive', 'docs',
  'sign', 'signin', 'login', 'password', 'reset', 'recovery', 'fraud', 'protection', 'prevention', 'dispute',
  'disputes', 'claims', 'refund', 'refunds', 'rewards', 'member', 'members', 'membership', 'seller', 'buyer',
  'marketplace', 'business', 'pro', 'plus', 'premium', 'storage', 'sharing', 'share', 'shared', 'file', 'files',
  'document', 'documents', 'voicemail', 'fax', 'it', 'webmail', 'mailbox', 'quarantine', 'postmaster', 'and', 'via',
  'from', 'of', 'for', 'ca', 'de', 'fr', 'au', 'in', 'global', 'international', 'usa',
]);
