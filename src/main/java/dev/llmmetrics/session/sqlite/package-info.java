/**
 * A durable session store on an embedded SQLite database, {@link dev.llmmetrics.session.sqlite.SqliteSessionStore}:
 * the sessions' aggregates and recent records live in tables of one file, so that a restart serves them at
 * once. It needs {@code org.xerial:sqlite-jdbc}, an optional dependency of the library, on the class path;
 * nothing else in the library uses it. Without it, the first use of the store's class fails with a
 * {@link NoClassDefFoundError} naming an sqlite-jdbc class.
 */
@NullMarked
package dev.llmmetrics.session.sqlite;

import org.jspecify.annotations.NullMarked;
