package main

import "fmt"

// allRows returns the table's rows, in the order of the goals' table.
func allRows(cfg *config) []row {
	big, small := count(cfg.tokens), count(cfg.small)
	backends := []struct{ id, name string }{{"sqlite", "SQLite"}, {"postgres", "PostgreSQL"}}
	rows := []row{
		{id: "reject", what: "reject a bad-checksum secret, no I/O (memstore)",
			goal: "≤ 1.5× one SHA-256, 0 allocs", run: rowReject},
		{id: "auth-cached", what: "Authenticate, memstore, cached, 1 goroutine",
			goal: "≤ 3× floor, ≤ 1 alloc", run: rowAuthCached},
		{id: "auth-cached-parallel", what: "same, RunParallel on every core",
			goal: "≥ 3 M/s", run: rowAuthCachedParallel},
		{id: "auth-uncached-sqlite", what: fmt.Sprintf("Authenticate, sqlitestore, cache off, %s tokens", big),
			goal: "≤ 10 µs", run: rowAuthUncached("sqlite")},
	}
	for _, b := range backends {
		rows = append(rows, row{id: "auth-scale-" + b.id, pg: b.id == "postgres",
			what: fmt.Sprintf("Authenticate cache off at %s tokens vs %s, %s", big, small, b.name),
			goal: "≤ 1.2×", run: rowAuthScale(b.id)})
	}
	lists := []struct{ shape, what, goal string }{
		{"user-expires", "one user with %s tokens, active, `sort=expires_asc`", "≤ 2 ms"},
		{"notrevoked-lastused-3", "administrator, `revoked=false`, `last_used_desc`, page 3", "≤ 2 ms"},
		{"active-newest", "administrator, active, newest first", "≤ 1 ms"},
	}
	for _, l := range lists {
		what := l.what
		if l.shape == "user-expires" {
			what = fmt.Sprintf(what, count(cfg.tokens/100))
		}
		for _, b := range backends {
			rows = append(rows, row{id: "list-" + l.shape + "-" + b.id, pg: b.id == "postgres",
				what: fmt.Sprintf("list a page of 20 at %s tokens: %s, %s", big, what, b.name),
				goal: l.goal, run: rowList(b.id, l.shape)})
		}
	}
	for _, b := range backends {
		rows = append(rows, row{id: "list-shapes-" + b.id, pg: b.id == "postgres",
			what: fmt.Sprintf("list a page of 20 at %s tokens, every scope, sort and filter (Store.List; each shape's time on stderr), %s", big, b.name),
			goal: "≤ 2 ms", run: rowListShapes(b.id)})
	}
	for _, op := range []string{"create", "revoke"} {
		for _, w := range []int{1, 16} {
			rows = append(rows, row{id: fmt.Sprintf("%s-sqlite-%dw", op, w),
				what: fmt.Sprintf("durable %ss through the Service, SQLite, %d writer%s", op, w, map[bool]string{true: "s"}[w > 1]),
				goal: "≥ 1,000/s", run: rowWrite("sqlite", op, w)})
		}
	}
	rows = append(rows,
		row{id: "roundtrip-postgres", pg: true, what: "one round trip to PostgreSQL (`SELECT 1`), 1 connection: the floor of every PostgreSQL row",
			goal: "the floor", run: rowPGFloor(false)},
		row{id: "commit-postgres-1w", pg: true, what: "a one-row INSERT and its commit, PostgreSQL, 1 connection: the floor of every durable write",
			goal: "the floor", run: rowPGFloor(true)})
	for _, op := range []string{"create", "revoke"} {
		rows = append(rows, row{id: op + "-postgres-1w", pg: true,
			what: fmt.Sprintf("durable %ss through the Service, PostgreSQL, 1 writer: `http-%s-postgres` without HTTP", op, op),
			goal: "the floor", run: rowFloor(rowWrite("postgres", op, 1))})
	}
	for _, c := range []int{2, 16} {
		rows = append(rows,
			row{id: fmt.Sprintf("http-bare-ok-%d", c), what: fmt.Sprintf("HTTP bare handler, valid header → 200, %d conns", c),
				goal: "the ceiling", run: rowBare(true, c)},
			row{id: fmt.Sprintf("http-bare-401-%d", c), what: fmt.Sprintf("HTTP bare handler, other header → 401, %d conns", c),
				goal: "the ceiling", run: rowBare(false, c)})
	}
	for _, b := range backends {
		for _, c := range []int{2, 16} {
			rows = append(rows, row{id: fmt.Sprintf("http-self-%s-%d", b.id, c), pg: b.id == "postgres",
				what: fmt.Sprintf("HTTP `GET /personal_access_tokens/self`, valid token, %d conns, %s", c, b.name),
				goal: "≥ 85% of bare", run: rowHTTPAuth(b.id, true, c)})
		}
	}
	for _, b := range backends {
		for _, c := range []int{2, 16} {
			rows = append(rows, row{id: fmt.Sprintf("http-unknown-%s-%d", b.id, c), pg: b.id == "postgres",
				what: fmt.Sprintf("HTTP unknown well-formed token → 401, %d conns, %s (one secret repeated; throttle off)", c, b.name),
				goal: "≥ 90% of bare", run: rowHTTPAuth(b.id, false, c)})
		}
	}
	for _, b := range backends {
		rows = append(rows, row{id: "http-list-" + b.id + "-16", pg: b.id == "postgres",
			what: fmt.Sprintf("HTTP list page of 20 (root: `GET /personal_access_tokens?per_page=20` of %s tokens), 16 conns, %s", big, b.name),
			goal: "≥ 50× Gitea (≥ 9k/s)", run: rowHTTPList(b.id)})
	}
	rows = append(rows,
		row{id: "http-create-postgres", pg: true, what: "HTTP create, sequential, PostgreSQL",
			goal: "≥ 1,000/s", run: rowHTTPCreate("postgres")},
		row{id: "http-revoke-postgres", pg: true, what: "HTTP revoke, sequential, PostgreSQL",
			goal: "≥ 1,000/s", run: rowHTTPRevoke("postgres")})
	for _, b := range backends {
		rows = append(rows, row{id: "http-lastused-" + b.id + "-16", pg: b.id == "postgres",
			what: fmt.Sprintf("last-used writes for one token, %s at 16 conns, %s", cfg.duration, b.name),
			goal: "≤ 1 per 10 min, always", run: rowLastUsed(b.id)})
	}
	return rows
}
