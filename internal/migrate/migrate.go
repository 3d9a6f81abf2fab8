// Package migrate loads the versioned SQL migrations that the SQL stores
// embed, and tells which of them a database still needs. It knows no
// database: each store keeps what is its own (how it locks against other
// processes, its table of applied versions, running a migration in a
// transaction) and asks this package the rest, so that both stores read,
// order, validate and choose their migrations the same way.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema step: a file NNNN_name.sql, where NNNN is the
// version.
type Migration struct {
	Version int    // NNNN: decimal digits, at least 1
	Name    string // the file name without ".sql", such as "0001_tokens"
	SQL     string // the file's text
}

// Load reads the migrations of fsys: every file at its root whose name
// ends in ".sql" (other files are ignored), in version order. A .sql file
// whose name is not NNNN_name.sql (NNNN decimal digits making a positive
// version; name ASCII letters, digits and '_'), two files with the same
// version, or none at all is an error.
func Load(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	ms := make([]Migration, 0, len(names))
	for _, file := range names {
		name := strings.TrimSuffix(path.Base(file), ".sql")
		v, err := version(name)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", file, err)
		}
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("migrate: no migration (*.sql) found")
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrate: %s.sql and %s.sql have the same version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// version returns the version of a migration named NNNN_name.
func version(name string) (int, error) {
	num, rest, ok := strings.Cut(name, "_")
	bad := !ok || num == "" || rest == ""
	for _, c := range num {
		bad = bad || c < '0' || c > '9'
	}
	for _, c := range rest {
		bad = bad || !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	}
	if bad {
		return 0, fmt.Errorf("name must be NNNN_name.sql: a version of decimal digits, '_', then letters, digits and '_'")
	}
	v, err := strconv.Atoi(num)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("version %s is not a positive int", num)
	}
	return v, nil
}

// Pending returns the migrations of ms, which is in version order as Load
// returns it, whose versions are not in applied, the versions a database
// has recorded. A database that has recorded a version that ms does not
// hold was migrated by a newer release (or one that knew migrations this
// one does not): Pending refuses it with an error, as the code would not
// know the schema it finds.
func Pending(ms []Migration, applied []int) ([]Migration, error) {
	known := make(map[int]bool, len(ms))
	for _, m := range ms {
		known[m.Version] = true
	}
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		if !known[v] {
			latest := 0
			if len(ms) > 0 {
				latest = ms[len(ms)-1].Version
			}
			return nil, fmt.Errorf("migrate: the database records migration version %d, which this release does not have (its latest is %d): a newer release migrated it", v, latest)
		}
		done[v] = true
	}
	var pending []Migration
	for _, m := range ms {
		if !done[m.Version] {
			pending = append(pending, m)
		}
	}
	return pending, nil
}
