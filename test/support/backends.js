/**
 * Which real servers the backend contract tests run against. CI (`.ci/run`) sets every
 * WARDEN_TEST_* URL; on a laptop without them the tests are skipped with a printed reason.
 *
 * @example
 *   const url = backendUrl('redis');
 *   describe.skipIf(!url)('counters on Redis', () => { ... });
 */
const ENV = {
    postgres: 'WARDEN_TEST_DATABASE_URL',
    redis: 'WARDEN_TEST_REDIS_URL',
    nats: 'WARDEN_TEST_NATS_URL',
};
const announced = new Set();
export function backendUrl(backend) {
    const name = ENV[backend];
    const url = process.env[name];
    if (!url && process.env.CI === 'true') {
        // In CI a missing backend is a broken pipeline, not a reason to skip.
        throw new Error(`${name} must be set in CI so the ${backend} contract tests run`);
    }
    if (!url && !announced.has(backend)) {
        announced.add(backend);
        console.warn(`[skip] ${backend} contract tests skipped: ${name} is not set (CI sets it; see .ci/run)`);
    }
    return url || undefined;
}
//# sourceMappingURL=backends.js.map