/** The database drivers storage tests run on: PGlite always, PostgreSQL when WARDEN_TEST_DATABASE_URL is set. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { backendUrl } from './backends.js';
const pglite = {
    name: 'pglite',
    async createDatabase() {
        return undefined;
    },
    async dropDatabase() { },
};
function postgres(adminUrl) {
    return {
        name: 'postgres',
        async createDatabase() {
            const name = `warden_t_${randomBytes(6).toString('hex')}`;
            const client = new pg.Client({ connectionString: adminUrl });
            await client.connect();
            try {
                await client.query(`create database ${name}`);
            }
            finally {
                await client.end();
            }
            const url = new URL(adminUrl);
            url.pathname = `/${name}`;
            return url.toString();
        },
        async dropDatabase(url) {
            if (!url)
                return;
            const name = new URL(url).pathname.slice(1);
            const client = new pg.Client({ connectionString: adminUrl });
            await client.connect();
            try {
                await client.query(`drop database if exists ${name} with (force)`);
            }
            finally {
                await client.end();
            }
        },
    };
}
/** The drivers to run storage tests on: PGlite, plus PostgreSQL when configured. */
export function drivers() {
    const url = backendUrl('postgres');
    return url ? [pglite, postgres(url)] : [pglite];
}
//# sourceMappingURL=drivers.js.map