// The admin password (one row): the first one from the environment, whether one is set, checking it,
// and changing it, which signs the other sessions out in the same batch.
import { eq, ne } from 'drizzle-orm';
import { adminCredentials, sessions } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { createPasswordHasher, type PasswordHasher } from '../lib/password.ts';

/** The pure-JS hasher, for entries that pass none (workerd). */
export const defaultHasher = createPasswordHasher();

/** Set the first admin password from the environment (LIFEBOAT_ADMIN_PASSWORD) when none is stored yet. */
export async function seedAdminPassword(db: DB, password: string | undefined, passwords: PasswordHasher = defaultHasher): Promise<boolean> {
  if (!password) return false;
  const [row] = await db.select({ id: adminCredentials.id }).from(adminCredentials).where(eq(adminCredentials.id, 1));
  if (row) return false;
  const inserted = await db
    .insert(adminCredentials)
    .values({ id: 1, passwordHash: await passwords.hash(password), updatedAt: Date.now() })
    .onConflictDoNothing()
    .returning({ id: adminCredentials.id });
  return inserted.length > 0;
}

export async function adminPasswordIsSet(db: DB): Promise<boolean> {
  const [row] = await db.select({ id: adminCredentials.id }).from(adminCredentials).where(eq(adminCredentials.id, 1));
  return !!row;
}

/** 'unset' while no password is stored, else whether `password` is the admin password. */
export async function checkAdminPassword(db: DB, passwords: PasswordHasher, password: string): Promise<'unset' | 'wrong' | 'ok'> {
  const [cred] = await db.select().from(adminCredentials).where(eq(adminCredentials.id, 1));
  if (!cred) return 'unset';
  return (await passwords.verify(password, cred.passwordHash)) ? 'ok' : 'wrong';
}

/** Set the password and sign out every session but `keepSessionId` (all of them when null), in one batch. */
export async function setAdminPassword(
  db: DB,
  passwords: PasswordHasher,
  password: string,
  keepSessionId: number | null,
  at: number,
): Promise<void> {
  const passwordHash = await passwords.hash(password);
  await db.batch([
    db
      .insert(adminCredentials)
      .values({ id: 1, passwordHash, updatedAt: at })
      .onConflictDoUpdate({ target: adminCredentials.id, set: { passwordHash, updatedAt: at } }),
    keepSessionId !== null ? db.delete(sessions).where(ne(sessions.id, keepSessionId)) : db.delete(sessions),
  ]);
}
