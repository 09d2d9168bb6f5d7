-- PostgreSQL's migration 0024 raises the list_stats counters at commit, so that a tenant's
-- row of them is not locked through the whole of each writing transaction. SQLite has one
-- writer at a time and no row locks: nothing changes here. Kept so that both databases are at
-- the same migration number.
SELECT 1;
