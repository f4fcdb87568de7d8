/**
 * Three instances of examples/postgres/main.ts on one private PostgreSQL,
 * for 12 seconds once all three run: `npx tsx examples/postgres/demo.ts`
 * (needs the PostgreSQL server binaries: Debian/Ubuntu `apt-get install
 * postgresql`; as root they run as the package's `postgres` user). Prints who
 * ran each slot, then stops everything and checks that no slot ran twice.
 */
import { runFleet } from '../cluster/fleet.js';
// The same throwaway cluster the tests use: initdb in a temporary directory, a free loopback port, stopped by pid.
import { startPostgres } from '../../test/helpers/postgres-server.js';

const server = await startPostgres();
const { url } = await server.createDatabase('example');
console.log(`PostgreSQL on ${server.host}:${server.port}`);
const code = await runFleet(new URL('./main.ts', import.meta.url), { SCHEDKIT_POSTGRES_URL: url }, () => server.stop());
process.exit(code);
