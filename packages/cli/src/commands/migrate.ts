import type { Config } from '@kuvert/server/config';
import { withAdminContext } from '../admin-database.js';

export async function migrateCommand(config: Readonly<Config>): Promise<number> {
  await withAdminContext(config, async () => {
    process.stdout.write('Database is at the latest migration.\n');
  });
  return 0;
}
