import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
// Dev-only: the independent implementation we cross-check against (never imported by product code).
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { describe, expect, it, vi } from 'vitest';
import { createContentDigest } from './content-digest.js';
import {
  createNonce,
  createSignatureBase,
  type HttpRequest,
  type HttpResponse,
  HttpSignatureError,
  parseComponentIdentifier,
  parseSignatureInput,
  parseSignatures,
  type SignatureAlgorithm,
  signRequest,
  signResponse,
  type VerifyErrorCode,
  type VerifyOptions,
  type VerifyResult,
  verifyRequest,
  verifyResponse,
} from './http-signature.js';

// ─── RFC 9421 Appendix B vectors ────────────────────────────────────────────────────────────────────────

const VECTORS = new URL('../../../test/vectors/rfc9421/', import.meta.url);
const readText = (name: string) => readFileSync(new URL(name, VECTORS), 'utf8');
const readJson = (name: string) => JSON.parse(readText(name));

interface Case {
  appendix: string;
  message: 'test-request' | 'test-response';
  label: string;
  alg: SignatureAlgorithm;
  keyid: string;
  components_parsed: Array<{ name: string; params: Record<string, string> }>;
  params_parsed: Record<string, string | number>;
  signature_params_value: string;
  signature_base: string;
  signature_input_header: string;
  signature_header: string;
  signature_b64: string;
}

const b2 = readJson('rfc9421-b2-cases.json') as {
  messages: Record<
    string,
    { method?: string; url?: string; status?: number; headers: Record<string, string>; body: string }
  >;
  cases: Case[];
};
const b26 = readJson('rfc9421-b26-ed25519.json');
const keys = readJson('rfc9421-b1-keys.json').keys as Record<
  string,
  { public_pem: string; private_pem: string; jwk_private: Record<string, string>; secret_base64: string }
>;
const caseFor = (appendix: string) => b2.cases.find((c) => c.appendix === appendix)!;

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

const rfcRequest: HttpRequest = {
  method: b2.messages['test-request']!.method!,
  url: b2.messages['test-request']!.url!,
  headers: lowerCased(b2.messages['test-request']!.headers),
  body: b2.messages['test-request']!.body,
};

// RFC 9421 B.2 prints a Content-Digest for test-response that is not the digest of its body; the B.2.4
// base and signature use the right one (see test/vectors/rfc9421/README.md).
const CORRECT_RESPONSE_DIGEST =
  'sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:';
const publishedResponse = b2.messages['test-response']!;
const rfcResponse: HttpResponse = {
  status: publishedResponse.status!,
  headers: { ...lowerCased(publishedResponse.headers), 'content-digest': CORRECT_RESPONSE_DIGEST },
  body: publishedResponse.body,
};

const RFC_NOW = 1618884473 * 1000;
const rfcKey = (id: string, alg: SignatureAlgorithm): KeyObject =>
  alg === 'hmac-sha256'
    ? createSecretKey(Buffer.from(keys[id]!.secret_base64, 'base64'))
    : createPublicKey(keys[id]!.public_pem);

function withSignature(msg: HttpRequest, c: Case): HttpRequest;
function withSignature(msg: HttpResponse, c: Case): HttpResponse;
function withSignature(msg: HttpRequest | HttpResponse, c: Case): HttpRequest | HttpResponse {
  return {
    ...msg,
    headers: { ...msg.headers, 'signature-input': c.signature_input_header, signature: c.signature_header },
  };
}

/** The verifier as the RFC examples need it: their clock, their key, none of Warden's required components. */
function rfcVerifyOptions(c: Case): VerifyOptions {
  return {
    keyFor: (id) => (id === c.keyid ? { key: rfcKey(c.keyid, c.alg), alg: c.alg } : undefined),
    requiredComponents: [],
    requireContentDigest: false,
    now: () => RFC_NOW,
  };
}

describe('RFC 9421 Appendix B.2: signature bases', () => {
  for (const c of b2.cases) {
    it(`${c.appendix} (${c.alg}): Signature-Input parses and the base is reproduced byte for byte`, () => {
      const input = parseSignatureInput(c.signature_input_header).get(c.label)!;
      expect(input.signatureParams).toBe(c.signature_params_value);
      expect(input.components.map((x) => ({ name: x.name, params: Object.fromEntries(x.params) }))).toEqual(
        c.components_parsed,
      );
      expect(input.params).toMatchObject(c.params_parsed);
      const message = c.message === 'test-request' ? rfcRequest : rfcResponse;
      expect(createSignatureBase(message, input)).toBe(c.signature_base);
      expect(Buffer.from(parseSignatures(c.signature_header).get(c.label)!).toString('base64')).toBe(
        c.signature_b64,
      );
    });
  }

  it('B.2.6 base equals b26-signature-base.txt (284 bytes, no trailing LF)', () => {
    const file = readText('b26-signature-base.txt');
    expect(file.length).toBe(284);
    const input = parseSignatureInput(b26.signature_input_header).get('sig-b26')!;
    expect(createSignatureBase(rfcRequest, input)).toBe(file);
  });

  it('test-request.http and test-response.http give the same messages as the JSON', () => {
    const parseHttp = (text: string) => {
      const [head, body] = text.split('\n\n') as [string, string];
      const [start, ...lines] = head.split('\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      return { start, headers, body };
    };
    const req = parseHttp(readText('test-request.http'));
    expect(req.start).toBe('POST /foo?param=Value&Pet=dog HTTP/1.1');
    expect(req.headers).toEqual(rfcRequest.headers);
    expect(req.body).toBe(rfcRequest.body);
    const res = parseHttp(readText('test-response.http'));
    expect(res.headers).toEqual(lowerCased(publishedResponse.headers));
  });

  it('B.2.4 with the Content-Digest printed in B.2 gives another base and fails verification', async () => {
    const c = caseFor('B.2.4');
    const printed: HttpResponse = { ...rfcResponse, headers: lowerCased(publishedResponse.headers) };
    const input = parseSignatureInput(c.signature_input_header).get(c.label)!;
    expect(createSignatureBase(printed, input)).not.toBe(c.signature_base);
    const result = await verifyResponse(withSignature(printed, c), rfcVerifyOptions(c));
    expect(result).toMatchObject({ ok: false, code: 'content_digest_mismatch' });
  });
});

describe('RFC 9421 Appendix B.2: signatures', () => {
  it('B.2.6 ed25519: signRequest reproduces Signature-Input and Signature exactly', () => {
    const privateKey = createPrivateKey(b26.key_private_pem);
    const headers = signRequest(rfcRequest, {
      keyId: 'test-key-ed25519',
      privateKey,
      label: 'sig-b26',
      created: 1618884473,
      components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'],
    });
    expect(headers['signature-input']).toBe(b26.signature_input_header);
    expect(headers.signature).toBe(b26.signature_header);
    expect(Buffer.from(parseSignatures(headers.signature).get('sig-b26')!).toString('hex')).toBe(
      b26.signature_hex,
    );
    expect(headers['content-digest']).toBeUndefined();
  });

  it('B.2.6 ed25519: the JWK form of the key gives the same signature', () => {
    const privateKey = createPrivateKey({ key: b26.key_private_jwk, format: 'jwk' });
    const headers = signRequest(rfcRequest, {
      keyId: 'test-key-ed25519',
      privateKey,
      label: 'sig-b26',
      created: 1618884473,
      components: b26.components_parsed.map((x: { name: string }) => x.name),
    });
    expect(headers.signature).toBe(b26.signature_header);
  });

  it('B.2.6 ed25519: verifies, also with the JWK public key', async () => {
    const c = caseFor('B.2.6');
    const result = await verifyRequest(withSignature(rfcRequest, c), rfcVerifyOptions(c));
    expect(result).toEqual({
      ok: true,
      keyId: 'test-key-ed25519',
      label: 'sig-b26',
      alg: 'ed25519',
      components: ['date', '@method', '@path', '@authority', 'content-type', 'content-length'],
      created: 1618884473,
      expires: undefined,
      nonce: undefined,
      tag: undefined,
    });
    const jwkKey = createPublicKey({ key: b26.key_public_jwk, format: 'jwk' });
    const viaJwk = await verifyRequest(withSignature(rfcRequest, c), {
      ...rfcVerifyOptions(c),
      keyFor: () => ({ key: jwkKey, alg: 'ed25519' }),
    });
    expect(viaJwk.ok).toBe(true);
  });

  it('B.2.5 hmac-sha256: signRequest reproduces the signature and verifyRequest accepts it', async () => {
    const c = caseFor('B.2.5');
    const headers = signRequest(rfcRequest, {
      keyId: c.keyid,
      privateKey: rfcKey(c.keyid, 'hmac-sha256'),
      label: c.label,
      created: 1618884473,
      components: ['date', '@authority', 'content-type'],
    });
    expect(headers.signature).toBe(c.signature_header);
    expect(headers['signature-input']).toBe(c.signature_input_header);
    expect(await verifyRequest(withSignature(rfcRequest, c), rfcVerifyOptions(c))).toMatchObject({
      ok: true,
    });
  });

  for (const appendix of ['B.2.1', 'B.2.2', 'B.2.3']) {
    it(`${appendix} rsa-pss-sha512: the published signature verifies`, async () => {
      const c = caseFor(appendix);
      const result = await verifyRequest(withSignature(rfcRequest, c), rfcVerifyOptions(c));
      expect(result).toMatchObject({
        ok: true,
        keyId: 'test-key-rsa-pss',
        label: c.label,
        alg: 'rsa-pss-sha512',
      });
      // Independently of our pipeline: node:crypto over the published base.
      expect(
        cryptoVerify(
          'sha512',
          Buffer.from(c.signature_base),
          { key: rfcKey(c.keyid, c.alg), padding: 6, saltLength: 64 },
          Buffer.from(c.signature_b64, 'base64'),
        ),
      ).toBe(true);
    });
  }

  it('B.2.2 covers content-digest, which is checked against the body', async () => {
    const c = caseFor('B.2.2');
    const tampered = withSignature({ ...rfcRequest, body: '{"hello": "dog"}' }, c);
    expect(await verifyRequest(tampered, rfcVerifyOptions(c))).toMatchObject({
      ok: false,
      code: 'content_digest_mismatch',
    });
  });

  it('B.2.1–B.2.3 rsa-pss-sha512: signRequest reproduces the Signature-Input and our signature verifies', async () => {
    const privateKey = createPrivateKey(keys['test-key-rsa-pss']!.private_pem);
    const c = caseFor('B.2.2');
    const headers = signRequest(rfcRequest, {
      keyId: c.keyid,
      privateKey,
      alg: 'rsa-pss-sha512',
      label: c.label,
      created: 1618884473,
      tag: 'header-example',
      components: ['@authority', 'content-digest', '@query-param;name="Pet"'],
    });
    expect(headers['signature-input']).toBe(c.signature_input_header);
    const b21 = caseFor('B.2.1');
    expect(
      signRequest(rfcRequest, {
        keyId: b21.keyid,
        privateKey,
        label: b21.label,
        created: 1618884473,
        nonce: 'b3k2pp5k7z-50gnwp.yemd',
        components: [],
      })['signature-input'],
    ).toBe(b21.signature_input_header);
    const signed = { ...rfcRequest, headers: { ...rfcRequest.headers, ...headers } };
    expect(await verifyRequest(signed, rfcVerifyOptions(c))).toMatchObject({ ok: true });
  });

  it('B.2.4 ecdsa-p256-sha256 over the response: the published signature verifies', async () => {
    const c = caseFor('B.2.4');
    const result = await verifyResponse(withSignature(rfcResponse, c), {
      ...rfcVerifyOptions(c),
      requiredComponents: ['@status'],
    });
    expect(result).toMatchObject({
      ok: true,
      alg: 'ecdsa-p256-sha256',
      components: c.components_parsed.map((x) => x.name),
    });
  });

  it('B.2.4 ecdsa-p256-sha256: signResponse produces a signature that verifies', async () => {
    const c = caseFor('B.2.4');
    const headers = signResponse(rfcResponse, {
      keyId: c.keyid,
      privateKey: createPrivateKey(keys['test-key-ecc-p256']!.private_pem),
      label: c.label,
      created: 1618884473,
      components: ['@status', 'content-type', 'content-digest', 'content-length'],
    });
    expect(headers['signature-input']).toBe(c.signature_input_header);
    const signed = { ...rfcResponse, headers: { ...rfcResponse.headers, ...headers } };
    expect(await verifyResponse(signed, rfcVerifyOptions(c))).toMatchObject({ ok: true });
  });
});

// ─── Component values (RFC 9421 §2.1, §2.2 examples) ───────────────────────────────────────────────────

function line(
  message: HttpRequest | HttpResponse,
  spec: string,
  options?: Parameters<typeof createSignatureBase>[2],
) {
  const c = parseComponentIdentifier(spec);
  return createSignatureBase(message, { components: [c], signatureParams: '()' }, options).split('\n')[0];
}

function baseError(fn: () => unknown): VerifyErrorCode | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpSignatureError) return err.code;
    throw err;
  }
  return undefined;
}

describe('derived components (RFC 9421 §2.2)', () => {
  const req: HttpRequest = {
    method: 'POST',
    url: 'https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman',
    headers: { host: 'www.example.com' },
  };

  it('derives each request component', () => {
    expect(line(req, '@method')).toBe('"@method": POST');
    expect(line(req, '@target-uri')).toBe(
      '"@target-uri": https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman',
    );
    expect(line(req, '@authority')).toBe('"@authority": www.example.com');
    expect(line(req, '@scheme')).toBe('"@scheme": https');
    expect(line(req, '@request-target')).toBe('"@request-target": /path?param=value&foo=bar&baz=bat%2Dman');
    expect(line(req, '@path')).toBe('"@path": /path');
    expect(line(req, '@query')).toBe('"@query": ?param=value&foo=bar&baz=bat%2Dman');
  });

  it('gives "?" for an absent or empty query and "/" for an empty path', () => {
    const bare = { ...req, url: 'https://www.example.com' };
    expect(line(bare, '@query')).toBe('"@query": ?');
    expect(line({ ...req, url: 'https://www.example.com/x?' }, '@query')).toBe('"@query": ?');
    expect(line(bare, '@path')).toBe('"@path": /');
    expect(line(bare, '@request-target')).toBe('"@request-target": /');
  });

  it('normalises the authority (case, default port) but keeps path and query bytes as sent', () => {
    expect(line({ ...req, url: 'https://WWW.Example.COM:443/a' }, '@authority')).toBe(
      '"@authority": www.example.com',
    );
    expect(line({ ...req, url: 'http://example.com:80/a' }, '@authority')).toBe('"@authority": example.com');
    expect(line({ ...req, url: 'http://example.com:8080/a' }, '@authority')).toBe(
      '"@authority": example.com:8080',
    );
    expect(line({ ...req, url: 'https://[::1]:443/a' }, '@authority')).toBe('"@authority": [::1]');
    expect(line({ ...req, url: 'HTTPS://example.com/a' }, '@scheme')).toBe('"@scheme": https');
    expect(line({ ...req, url: 'https://example.com/a/../B%7e' }, '@path')).toBe('"@path": /a/../B%7e');
    expect(line({ ...req, url: 'https://example.com/a?x=1#frag' }, '@target-uri')).toBe(
      '"@target-uri": https://example.com/a?x=1',
    );
    const fragment = { ...req, url: 'https://example.com/a#frag?x=1' };
    expect(line(fragment, '@path')).toBe('"@path": /a');
    expect(line(fragment, '@query')).toBe('"@query": ?');
  });

  it('re-encodes named query parameters (RFC 9421 §2.2.8 example)', () => {
    const q: HttpRequest = {
      ...req,
      url: 'https://example.com/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something&qux=',
    };
    expect(line(q, '@query-param;name="var"')).toBe('"@query-param";name="var": this%20is%20a%20big%0Avalue');
    expect(line(q, '@query-param;name="bar"')).toBe('"@query-param";name="bar": with%20plus%20whitespace');
    expect(line(q, '@query-param;name="fa%C3%A7ade%22%3A%20"')).toBe(
      '"@query-param";name="fa%C3%A7ade%22%3A%20": something',
    );
    expect(line(q, '@query-param;name="qux"')).toBe('"@query-param";name="qux": ');
    expect(line({ ...req, url: "https://e.com/?a=!'()*~" }, '@query-param;name="a"')).toBe(
      '"@query-param";name="a": %21%27%28%29*%7E',
    );
  });

  it('refuses a repeated or missing named query parameter', () => {
    expect(baseError(() => line({ ...req, url: 'https://e.com/?a=1&a=2' }, '@query-param;name="a"'))).toBe(
      'component_absent',
    );
    expect(baseError(() => line(req, '@query-param;name="nope"'))).toBe('component_absent');
  });

  it('refuses target URIs it cannot split safely', () => {
    for (const url of [
      '/relative',
      'https://',
      'https://user@host/',
      'https://h/a b',
      'https://h/é',
      'https://h\\x',
    ]) {
      expect(baseError(() => line({ ...req, url }, '@path'))).toBe('component_absent');
    }
  });

  it('@status belongs to responses, request components in a response need ;req', () => {
    const res: HttpResponse = { status: 201, headers: {} };
    expect(line(res, '@status')).toBe('"@status": 201');
    expect(baseError(() => line(req, '@status'))).toBe('signature_input_invalid');
    expect(baseError(() => line(res, '@method'))).toBe('signature_input_invalid');
    expect(baseError(() => line(req, '@method;req'))).toBe('signature_input_invalid');
    expect(line(res, '@method;req', { request: req })).toBe('"@method";req: POST');
    expect(line(res, '@authority;req', { request: req })).toBe('"@authority";req: www.example.com');
    expect(baseError(() => line(res, '@method;req'))).toBe('component_absent');
  });
});

describe('HTTP fields (RFC 9421 §2.1 examples)', () => {
  const req: HttpRequest = {
    method: 'GET',
    url: 'https://www.example.com/',
    headers: {
      'x-ows-header': '   Leading and trailing whitespace.   ',
      'x-obs-fold-header': 'Obsolete\r\n    line folding.',
      'cache-control': ['max-age=60', '   must-revalidate'],
      'example-dict': ' a=1,    b=2;x=1;y=2,   c=(a   b   c)',
      'x-empty-header': '',
      'example-header': ['value, with, lots', 'of, commas'],
      'x-latin1': 'caf\u00e9',
    },
  };

  it('trims, unfolds and joins field lines', () => {
    expect(line(req, 'x-ows-header')).toBe('"x-ows-header": Leading and trailing whitespace.');
    expect(line(req, 'x-obs-fold-header')).toBe('"x-obs-fold-header": Obsolete line folding.');
    expect(line(req, 'cache-control')).toBe('"cache-control": max-age=60, must-revalidate');
    expect(line(req, 'example-dict')).toBe('"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)');
    expect(line(req, 'x-empty-header')).toBe('"x-empty-header": ');
    expect(line(req, 'X-Empty-Header')).toBe('"x-empty-header": ');
  });

  it(';sf re-serialises a structured field (type from options or the known list)', () => {
    const options = { structuredFields: { 'example-dict': 'dictionary' as const } };
    expect(line(req, 'example-dict;sf', options)).toBe('"example-dict";sf: a=1, b=2;x=1;y=2, c=(a b c)');
    expect(baseError(() => line(req, 'example-dict;sf'))).toBe('component_absent');
    const cd = { ...req, headers: { 'content-digest': 'sha-256=:AAAA:,  md5=:AA==:' } };
    expect(line(cd, 'content-digest;sf')).toBe('"content-digest";sf: sha-256=:AAAA:, md5=:AA==:');
  });

  it(';key picks one dictionary member', () => {
    const d = { ...req, headers: { 'example-dict': 'a=1, b=2;x=1;y=2, c=(a   b    c), d' } };
    expect(line(d, 'example-dict;key="a"')).toBe('"example-dict";key="a": 1');
    expect(line(d, 'example-dict;key="d"')).toBe('"example-dict";key="d": ?1');
    expect(line(d, 'example-dict;key="b"')).toBe('"example-dict";key="b": 2;x=1;y=2');
    expect(line(d, 'example-dict;key="c"')).toBe('"example-dict";key="c": (a b c)');
    expect(baseError(() => line(d, 'example-dict;key="zz"'))).toBe('component_absent');
  });

  it(';bs wraps each field line as a byte sequence', () => {
    expect(line(req, 'example-header')).toBe('"example-header": value, with, lots, of, commas');
    expect(line(req, 'example-header;bs')).toBe(
      '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:',
    );
    const one = { ...req, headers: { 'example-header': 'value, with, lots, of, commas' } };
    expect(line(one, 'example-header;bs')).toBe(
      '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:',
    );
    expect(line(req, 'x-latin1;bs')).toBe('"x-latin1";bs: :Y2Fm6Q==:');
  });

  it('refuses values a signature base cannot hold, unless wrapped with ;bs', () => {
    expect(baseError(() => line(req, 'x-latin1'))).toBe('component_absent');
    const injected = { ...req, headers: { 'x-a': 'ok\n"@method": GET' } };
    expect(baseError(() => line(injected, 'x-a'))).toBe('component_absent');
  });

  it('does not mistake inherited object properties for headers', () => {
    for (const name of ['constructor', '__proto__', 'tostring']) {
      expect(baseError(() => line(req, name))).toBe('component_absent');
    }
  });

  it('refuses identifiers RFC 9421 does not define or allow', () => {
    for (const spec of [
      '@unknown',
      '@signature-params',
      'x;tr',
      'x;foo',
      '@method;sf',
      'x;bs;sf',
      'x;key="a";bs',
      '@query-param',
      '@path;name="x"',
      'x;sf=?0',
      'bad name',
    ]) {
      expect(
        baseError(() => parseComponentIdentifier(spec)),
        spec,
      ).toBe('signature_input_invalid');
    }
  });
});

// ─── Warden's verification policy: every error code ─────────────────────────────────────────────────────

const AGENT = 'agt_01J9ZQ4M6W5S8Y2R3T7V0X1B2C';
const agentKeys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');
const NOW = Date.UTC(2026, 0, 1, 12);
const NOW_S = NOW / 1000;
const body = JSON.stringify({
  action: 'payments.create',
  resource: 'acct_42',
  context: { amount: 1200, currency: 'EUR', note: 'x'.repeat(900) },
});

const agentPost: HttpRequest = {
  method: 'POST',
  url: 'https://warden.example/v1/oversight/evaluate?dry=1',
  headers: { host: 'warden.example', 'content-type': 'application/json' },
  body,
};

function sign(req: HttpRequest, options: Partial<Parameters<typeof signRequest>[1]> = {}): HttpRequest {
  const headers = signRequest(req, {
    keyId: AGENT,
    privateKey: agentKeys.privateKey,
    created: NOW_S,
    ...options,
  });
  return { ...req, headers: { ...req.headers, ...headers } };
}

function nonceStore() {
  const seen = new Set<string>();
  return vi.fn(async (keyId: string, nonce: string, _ttl: number) => {
    const k = `${keyId}\u0000${nonce}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const baseOptions: VerifyOptions = {
  keyFor: (id) => (id === AGENT ? { key: agentKeys.publicKey, alg: 'ed25519' } : undefined),
  now: () => NOW,
};

async function expectCode(result: Promise<VerifyResult>, code: VerifyErrorCode): Promise<void> {
  const r = await result;
  expect(r.ok ? r : { ok: r.ok, code: r.code }).toEqual({ ok: false, code });
}

describe('verifyRequest: the agent path', () => {
  it('accepts a signed agent POST (default components: @method, @target-uri, content-digest)', async () => {
    const signed = sign(agentPost, { nonce: 'n-1' });
    expect(signed.headers['content-digest']).toBe(createContentDigest(body));
    const checkNonce = nonceStore();
    const result = await verifyRequest(signed, { ...baseOptions, requireNonce: true, checkNonce });
    expect(result).toEqual({
      ok: true,
      keyId: AGENT,
      label: 'sig1',
      alg: 'ed25519',
      components: ['@method', '@target-uri', 'content-digest'],
      created: NOW_S,
      expires: undefined,
      nonce: 'n-1',
      tag: undefined,
    });
    expect(checkNonce).toHaveBeenCalledWith(AGENT, 'n-1', 330);
  });

  it('accepts a GET without a body with the default components', async () => {
    const get = sign({ method: 'GET', url: 'https://warden.example/v1/agents/me', headers: {} });
    expect(get.headers['signature-input']).toBe(
      `sig1=("@method" "@target-uri");created=${NOW_S};keyid="${AGENT}"`,
    );
    expect(await verifyRequest(get, baseOptions)).toMatchObject({ ok: true });
  });

  it('signature_missing: no signature fields, or no Signature member for the label', async () => {
    await expectCode(verifyRequest(agentPost, baseOptions), 'signature_missing');
    const signed = sign(agentPost);
    await expectCode(
      verifyRequest({ ...signed, headers: { ...signed.headers, signature: 'other=:AAAA:' } }, baseOptions),
      'signature_missing',
    );
    await expectCode(
      verifyRequest({ ...signed, headers: { ...signed.headers, 'signature-input': '' } }, baseOptions),
      'signature_missing',
    );
  });

  it('signature_input_invalid: malformed, oversized or unusable Signature-Input / Signature', async () => {
    const signed = sign(agentPost);
    const si = signed.headers['signature-input'] as string;
    const variants = [
      'sig1=("@method" "@target-uri";created=1',
      'sig1=1',
      `sig1=("@method" "@method");created=${NOW_S};keyid="${AGENT}"`,
      `sig1=("@method" "x";tr);created=${NOW_S};keyid="${AGENT}"`,
      `sig1=("@method" "X-Upper");created=${NOW_S};keyid="${AGENT}"`,
      `sig1=("@method" @method);created=${NOW_S};keyid="${AGENT}"`,
      `sig1=("@method");created="yesterday";keyid="${AGENT}"`,
      `sig1=("@method");created=-5;keyid="${AGENT}"`,
      `sig1=("@method");keyid="${AGENT}"`,
      `sig1=("@method");created=${NOW_S};keyid=${AGENT.toLowerCase()}`,
      `sig1=("@method");created=${NOW_S};keyid="${AGENT}";nonce="${'n'.repeat(600)}"`,
      `${si}, ${'x'.repeat(9000)}`,
      Array.from({ length: 9 }, (_, i) => `s${i}=()`).join(', '),
      `sig1=(${Array.from({ length: 33 }, (_, i) => `"x-${i}"`).join(' ')});created=${NOW_S};keyid="${AGENT}"`,
    ];
    for (const input of variants) {
      const req = { ...signed, headers: { ...signed.headers, 'signature-input': input } };
      const r = await verifyRequest(req, {
        ...baseOptions,
        requiredComponents: [],
        requireContentDigest: false,
      });
      expect(r.ok ? 'ok' : r.code, input.slice(0, 80)).toBe('signature_input_invalid');
    }
    for (const sig of ['sig1=AAAA', 'sig1=:AA-A:', 'sig1=(:AAAA:)', 'sig1=:AAAA:, sig1']) {
      const req = { ...signed, headers: { ...signed.headers, signature: sig } };
      const r = await verifyRequest(req, baseOptions);
      expect(r.ok ? 'ok' : r.code, sig).toBe('signature_input_invalid');
    }
  });

  it('signature_label_unknown: the requested label is not there', async () => {
    await expectCode(
      verifyRequest(sign(agentPost), { ...baseOptions, label: 'agent' }),
      'signature_label_unknown',
    );
    expect(
      await verifyRequest(sign(agentPost, { label: 'agent' }), { ...baseOptions, label: 'agent' }),
    ).toMatchObject({
      ok: true,
      label: 'agent',
    });
  });

  it('component_missing: a required component is not covered', async () => {
    await expectCode(
      verifyRequest(sign(agentPost, { components: ['@method', '@path', 'content-digest'] }), baseOptions),
      'component_missing',
    );
    // A body whose digest is not covered could be swapped freely.
    await expectCode(
      verifyRequest(sign(agentPost, { components: ['@method', '@target-uri'] }), baseOptions),
      'component_missing',
    );
    await expectCode(
      verifyRequest(sign(agentPost), { ...baseOptions, requiredComponents: ['@method', 'x-warden-run'] }),
      'component_missing',
    );
    // requiredComponents takes parameterised ids too.
    const q = sign(agentPost, {
      components: ['@method', '@target-uri', 'content-digest', '@query-param;name="dry"'],
    });
    expect(
      await verifyRequest(q, { ...baseOptions, requiredComponents: ['@query-param; name="dry"', '@method'] }),
    ).toMatchObject({ ok: true });
  });

  it('component_absent: a covered header is not on the request', async () => {
    const withRun = { ...agentPost, headers: { ...agentPost.headers, 'x-warden-run': 'run_1' } };
    const signed = sign(withRun, {
      components: ['@method', '@target-uri', 'content-digest', 'x-warden-run'],
    });
    expect(await verifyRequest(signed, baseOptions)).toMatchObject({ ok: true });
    const { 'x-warden-run': _dropped, ...rest } = signed.headers;
    await expectCode(verifyRequest({ ...signed, headers: rest }, baseOptions), 'component_absent');
  });

  it('content_digest_missing: content-digest is covered but the field is gone or unusable', async () => {
    const signed = sign(agentPost);
    const { 'content-digest': _gone, ...rest } = signed.headers;
    await expectCode(verifyRequest({ ...signed, headers: rest }, baseOptions), 'content_digest_missing');
    const md5Only = sign({
      ...agentPost,
      headers: { ...agentPost.headers, 'content-digest': 'md5=:AAAAAAAAAAAAAAAAAAAAAA==:' },
    });
    await expectCode(verifyRequest(md5Only, baseOptions), 'content_digest_missing');
  });

  it('content_digest_mismatch: a signature over a different body', async () => {
    const signed = sign(agentPost);
    await expectCode(
      verifyRequest({ ...signed, body: body.replace('1200', '9999') }, baseOptions),
      'content_digest_mismatch',
    );
    await expectCode(verifyRequest({ ...signed, body: undefined }, baseOptions), 'content_digest_mismatch');
  });

  it('signature_expired: expires has passed (beyond the skew)', async () => {
    const signed = sign(agentPost, { expires: NOW_S + 60 });
    const at = (s: number) => ({ ...baseOptions, now: () => (NOW_S + s) * 1000 });
    expect(await verifyRequest(signed, at(90))).toMatchObject({ ok: true, expires: NOW_S + 60 });
    await expectCode(verifyRequest(signed, at(91)), 'signature_expired');
  });

  it('signature_too_old: created is older than maxAgeSeconds + clockSkewSeconds', async () => {
    const signed = sign(agentPost);
    const at = (s: number) => ({ ...baseOptions, now: () => (NOW_S + s) * 1000 });
    expect(await verifyRequest(signed, at(330))).toMatchObject({ ok: true });
    await expectCode(verifyRequest(signed, at(331)), 'signature_too_old');
    await expectCode(
      verifyRequest(signed, { ...at(61), maxAgeSeconds: 30, clockSkewSeconds: 30 }),
      'signature_too_old',
    );
  });

  it('signature_from_future: created is ahead of our clock by more than the skew', async () => {
    expect(await verifyRequest(sign(agentPost, { created: NOW_S + 30 }), baseOptions)).toMatchObject({
      ok: true,
    });
    await expectCode(
      verifyRequest(sign(agentPost, { created: NOW_S + 31 }), baseOptions),
      'signature_from_future',
    );
    await expectCode(
      verifyRequest(sign(agentPost, { created: NOW_S + 6 }), { ...baseOptions, clockSkewSeconds: 5 }),
      'signature_from_future',
    );
  });

  it('nonce_missing: a nonce is required and absent', async () => {
    await expectCode(
      verifyRequest(sign(agentPost), { ...baseOptions, requireNonce: true, checkNonce: nonceStore() }),
      'nonce_missing',
    );
  });

  it('nonce_replayed: the same signed request twice', async () => {
    const options: VerifyOptions = { ...baseOptions, requireNonce: true, checkNonce: nonceStore() };
    const signed = sign(agentPost, { nonce: createNonce() });
    expect(await verifyRequest(signed, options)).toMatchObject({ ok: true });
    await expectCode(verifyRequest(signed, options), 'nonce_replayed');
    // Nonces are per key: another agent may use the same value.
    expect(await verifyRequest(sign(agentPost, { nonce: 'shared' }), options)).toMatchObject({ ok: true });
  });

  it('records a nonce only for a signature that verifies, so nobody can burn an agent’s nonces', async () => {
    const checkNonce = nonceStore();
    const forged = signRequest(agentPost, {
      keyId: AGENT,
      privateKey: otherKeys.privateKey,
      created: NOW_S,
      nonce: 'n-9',
    });
    const r = await verifyRequest(
      { ...agentPost, headers: { ...agentPost.headers, ...forged } },
      {
        ...baseOptions,
        requireNonce: true,
        checkNonce,
      },
    );
    expect(r).toMatchObject({ ok: false, code: 'signature_invalid' });
    expect(checkNonce).not.toHaveBeenCalled();
  });

  it('passes a nonce TTL that covers the rest of the acceptance window', async () => {
    const checkNonce = nonceStore();
    await verifyRequest(sign(agentPost, { nonce: 'a', expires: NOW_S + 100 }), {
      ...baseOptions,
      now: () => NOW + 10_000,
      checkNonce,
    });
    expect(checkNonce).toHaveBeenLastCalledWith(AGENT, 'a', 100 + 30 - 10);
  });

  it('key_unknown: no keyid, or a keyid we do not know', async () => {
    await expectCode(verifyRequest(sign(agentPost, { keyId: 'agt_stranger' }), baseOptions), 'key_unknown');
    const signed = sign(agentPost);
    const noKeyid = (signed.headers['signature-input'] as string).replace(`;keyid="${AGENT}"`, '');
    await expectCode(
      verifyRequest({ ...signed, headers: { ...signed.headers, 'signature-input': noKeyid } }, baseOptions),
      'key_unknown',
    );
  });

  it('alg_mismatch: the alg parameter or the key does not fit the registered algorithm', async () => {
    const withAlg = sign(agentPost, { includeAlg: true });
    expect(withAlg.headers['signature-input']).toContain(';alg="ed25519"');
    expect(await verifyRequest(withAlg, baseOptions)).toMatchObject({ ok: true });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expectCode(
      verifyRequest(withAlg, {
        ...baseOptions,
        keyFor: () => ({ key: ec.publicKey, alg: 'ecdsa-p256-sha256' }),
      }),
      'alg_mismatch',
    );
    await expectCode(
      verifyRequest(sign(agentPost), {
        ...baseOptions,
        keyFor: () => ({ key: agentKeys.publicKey, alg: 'hmac-sha256' }),
      }),
      'alg_mismatch',
    );
    await expectCode(
      verifyRequest(sign(agentPost), {
        ...baseOptions,
        keyFor: () => ({ key: agentKeys.publicKey, alg: 'none' as SignatureAlgorithm }),
      }),
      'alg_mismatch',
    );
  });

  it('signature_invalid: wrong key, changed method or URL, altered signature', async () => {
    const signed = sign(agentPost);
    await expectCode(verifyRequest({ ...signed, method: 'PUT' }, baseOptions), 'signature_invalid');
    await expectCode(
      verifyRequest({ ...signed, url: 'https://warden.example/v1/oversight/evaluate?dry=0' }, baseOptions),
      'signature_invalid',
    );
    await expectCode(
      verifyRequest(signed, { ...baseOptions, keyFor: () => ({ key: otherKeys.publicKey, alg: 'ed25519' }) }),
      'signature_invalid',
    );
    const bytes = Buffer.from(parseSignatures(signed.headers.signature as string).get('sig1')!);
    bytes[0]! ^= 1;
    const altered = `sig1=:${bytes.toString('base64')}:`;
    await expectCode(
      verifyRequest({ ...signed, headers: { ...signed.headers, signature: altered } }, baseOptions),
      'signature_invalid',
    );
    const short = `sig1=:${bytes.subarray(0, 32).toString('base64')}:`;
    await expectCode(
      verifyRequest({ ...signed, headers: { ...signed.headers, signature: short } }, baseOptions),
      'signature_invalid',
    );
  });

  it('fails closed when a dependency throws or is missing', async () => {
    const signed = sign(agentPost, { nonce: 'x' });
    const boom = new Error('key cache down');
    const r1 = await verifyRequest(signed, {
      ...baseOptions,
      keyFor: () => {
        throw boom;
      },
    });
    expect(r1).toMatchObject({ ok: false, code: 'signature_invalid', cause: boom });
    const r2 = await verifyRequest(signed, {
      ...baseOptions,
      requireNonce: true,
      checkNonce: async () => {
        throw new Error('redis down');
      },
    });
    expect(r2).toMatchObject({ ok: false, code: 'signature_invalid' });
    // A JavaScript caller who asks for nonces but gives no store gets a refusal, not a silent pass.
    const r3 = await verifyRequest(signed, {
      ...baseOptions,
      requireNonce: true,
    } as unknown as VerifyOptions);
    expect(r3.ok).toBe(false);
    expect(await verifyRequest(null as unknown as HttpRequest, baseOptions)).toMatchObject({ ok: false });
  });

  it('picks the first signature by default and keeps other signatures intact when adding one', async () => {
    const first = sign(agentPost);
    const proxyKeys = generateKeyPairSync('ed25519');
    const second = signRequest(first, {
      keyId: 'proxy',
      privateKey: proxyKeys.privateKey,
      created: NOW_S,
      label: 'proxy',
    });
    expect(second['signature-input']).toMatch(/^sig1=.*, proxy=/);
    const both = { ...first, headers: { ...first.headers, ...second } };
    expect(await verifyRequest(both, baseOptions)).toMatchObject({ ok: true, label: 'sig1' });
    const proxyOptions: VerifyOptions = {
      ...baseOptions,
      label: 'proxy',
      keyFor: (id) => (id === 'proxy' ? { key: proxyKeys.publicKey, alg: 'ed25519' } : undefined),
    };
    expect(await verifyRequest(both, proxyOptions)).toMatchObject({ ok: true, keyId: 'proxy' });
    expect(() => signRequest(both, { keyId: AGENT, privateKey: agentKeys.privateKey })).toThrow(
      /already has/,
    );
  });

  it('refuses to sign with a key that does not fit the algorithm', () => {
    expect(() => signRequest(agentPost, { keyId: AGENT, privateKey: agentKeys.publicKey })).toThrow(
      TypeError,
    );
    expect(() =>
      signRequest(agentPost, { keyId: AGENT, privateKey: agentKeys.privateKey, alg: 'ecdsa-p256-sha256' }),
    ).toThrow(TypeError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => signRequest(agentPost, { keyId: AGENT, privateKey: rsa.privateKey })).toThrow(/pass alg/);
  });

  it('round-trips every supported algorithm', async () => {
    const pairs: Array<[SignatureAlgorithm, KeyObject, KeyObject]> = [];
    const ed = generateKeyPairSync('ed25519');
    pairs.push(['ed25519', ed.privateKey, ed.publicKey]);
    const secret = createSecretKey(Buffer.alloc(32, 7));
    pairs.push(['hmac-sha256', secret, secret]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pairs.push(['rsa-pss-sha512', rsa.privateKey, rsa.publicKey]);
    pairs.push(['rsa-v1_5-sha256', rsa.privateKey, rsa.publicKey]);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    pairs.push(['ecdsa-p256-sha256', p256.privateKey, p256.publicKey]);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    pairs.push(['ecdsa-p384-sha384', p384.privateKey, p384.publicKey]);
    for (const [alg, privateKey, publicKey] of pairs) {
      const signed = sign(agentPost, { alg, privateKey, includeAlg: true });
      const r = await verifyRequest(signed, { ...baseOptions, keyFor: () => ({ key: publicKey, alg }) });
      expect(r, alg).toMatchObject({ ok: true, alg });
    }
  });
});

describe('properties', () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9_~-]{1,12}$/);
  const requestArb = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
    path: fc.array(segment, { minLength: 1, maxLength: 4 }),
    query: fc.array(fc.tuple(segment, fc.stringMatching(/^[A-Za-z0-9 ._-]{0,12}$/)), { maxLength: 3 }),
    body: fc.option(fc.uint8Array({ minLength: 1, maxLength: 512 }), { nil: undefined }),
    header: fc.stringMatching(/^[\x20-\x7e]{0,40}$/),
  });
  type Generated = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;
  const toRequest = (r: Generated): HttpRequest => ({
    method: r.method,
    url: `https://warden.example/${r.path.join('/')}${
      r.query.length ? `?${new URLSearchParams(r.query).toString()}` : ''
    }`,
    headers: { 'x-agent-note': r.header },
    body: r.body,
  });

  it('whatever the request, what we sign we verify, and any change to the body is caught', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, fc.nat(), async (r, at) => {
        const req = toRequest(r);
        const signed = sign(req, {
          components: req.body ? undefined : ['@method', '@target-uri', 'x-agent-note'],
        });
        expect(await verifyRequest(signed, baseOptions)).toMatchObject({ ok: true });
        if (req.body !== undefined) {
          const changed = Uint8Array.from(req.body as Uint8Array);
          changed[at % changed.length]! ^= 0x80;
          await expectCode(
            verifyRequest({ ...signed, body: changed }, baseOptions),
            'content_digest_mismatch',
          );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('arbitrary Signature-Input and Signature values never throw and never verify', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), fc.string({ maxLength: 120 }), async (si, sig) => {
        const req = {
          ...agentPost,
          headers: { ...agentPost.headers, 'signature-input': si, signature: sig },
        };
        const r = await verifyRequest(req, baseOptions);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });
});

// ─── Cross-check with an independent implementation (npm http-message-signatures, dev only) ────────────

describe('interoperability with http-message-signatures', () => {
  const fields = [
    '@method',
    '@target-uri',
    '@authority',
    '@path',
    '@query',
    'content-type',
    'content-digest',
  ];

  function plain(req: HttpRequest): { method: string; url: string; headers: Record<string, string> } {
    return { method: req.method, url: req.url, headers: req.headers as Record<string, string> };
  }

  it('a request it signs verifies with ours', async () => {
    const withDigest = {
      ...agentPost,
      headers: { ...agentPost.headers, 'content-digest': createContentDigest(body) },
    };
    const theirs = await httpbis.signMessage(
      {
        key: createSigner(agentKeys.privateKey, 'ed25519', AGENT),
        fields,
        params: ['created', 'keyid', 'alg', 'nonce'],
        paramValues: { created: new Date(NOW), nonce: 'their-nonce' },
        name: 'sig1',
      },
      plain(withDigest),
    );
    const signed: HttpRequest = {
      ...withDigest,
      headers: lowerCased(theirs.headers as Record<string, string>),
    };
    expect(signed.headers['signature-input']).toContain('alg="ed25519"');
    expect(await verifyRequest(signed, { ...baseOptions, requiredComponents: fields })).toMatchObject({
      ok: true,
      keyId: AGENT,
      nonce: 'their-nonce',
    });
    await expectCode(verifyRequest({ ...signed, body: `${body} ` }, baseOptions), 'content_digest_mismatch');
  });

  it('a request we sign verifies with it, and a tampered one does not', async () => {
    const signed = signRequest(agentPost, {
      keyId: AGENT,
      privateKey: agentKeys.privateKey,
      components: fields,
      nonce: 'n',
    });
    const req = { ...agentPost, headers: { ...agentPost.headers, ...signed } };
    const keyLookup = async (params: { keyid?: string }) =>
      params.keyid === AGENT
        ? { id: AGENT, algs: ['ed25519'], verify: createVerifier(agentKeys.publicKey, 'ed25519') }
        : null;
    expect(await httpbis.verifyMessage({ keyLookup, requiredFields: fields }, plain(req))).toBe(true);
    expect(await httpbis.verifyMessage({ keyLookup }, { ...plain(req), method: 'PUT' })).toBe(false);
  });

  it('agrees on random requests in both directions', async () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,10}$/);
    const keyLookup = async () => ({
      id: AGENT,
      algs: ['ed25519'],
      verify: createVerifier(agentKeys.publicKey, 'ed25519'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(segment, segment), { maxLength: 3 }),
        fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/),
        async (path, query, note) => {
          const req: HttpRequest = {
            method: 'POST',
            url: `https://warden.example/${path.join('/')}${query.length ? `?${query.map((q) => q.join('=')).join('&')}` : ''}`,
            headers: {
              'content-type': 'application/json',
              'x-note': note,
              'content-digest': createContentDigest(body),
            },
            body,
          };
          const all = [...fields, 'x-note'];
          const ours = signRequest(req, { keyId: AGENT, privateKey: agentKeys.privateKey, components: all });
          expect(
            await httpbis.verifyMessage(
              { keyLookup },
              plain({ ...req, headers: { ...req.headers, ...ours } }),
            ),
          ).toBe(true);
          const theirs = await httpbis.signMessage(
            { key: createSigner(agentKeys.privateKey, 'ed25519', AGENT), fields: all, name: 'sig1' },
            plain(req),
          );
          const r = await verifyRequest(
            { ...req, headers: lowerCased(theirs.headers as Record<string, string>) },
            { ...baseOptions, now: Date.now },
          );
          expect(r).toMatchObject({ ok: true });
        },
      ),
      { numRuns: 60 },
    );
  });
});
