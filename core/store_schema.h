/* The SQLite schema of the engine store (store_sqlite.c): migrations of
 * component "engine", applied in order by dg_db_migrate, each once. A new
 * schema change is a new entry at the end; released entries never change. */
#ifndef DG_CORE_STORE_SCHEMA_H
#define DG_CORE_STORE_SCHEMA_H

#include <stddef.h>

extern const char *const dg_store_migrations[];
extern const size_t dg_store_n_migrations;

#endif
