package migrate_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/patkit/patkit/internal/migrate"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestLoadOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"0010_ten.sql":   file("ten"),
		"0002_two.sql":   file("two"),
		"1_one.sql":      file("one"),
		"README.md":      file("not a migration"),
		"sub/0003_x.sql": file("not at the root"),
	}
	got, err := migrate.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []migrate.Migration{
		{Version: 1, Name: "1_one", SQL: "one"},
		{Version: 2, Name: "0002_two", SQL: "two"},
		{Version: 10, Name: "0010_ten", SQL: "ten"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want string // in the error
	}{
		{"empty", fstest.MapFS{"README.md": file("")}, "no migration"},
		{"no version", fstest.MapFS{"tokens.sql": file("")}, "tokens.sql"},
		{"no name", fstest.MapFS{"0001_.sql": file("")}, "0001_.sql"},
		{"no underscore", fstest.MapFS{"0001.sql": file("")}, "0001.sql"},
		{"version zero", fstest.MapFS{"0000_zero.sql": file("")}, "positive"},
		{"negative", fstest.MapFS{"-1_minus.sql": file("")}, "-1_minus.sql"},
		{"version not decimal", fstest.MapFS{"0x1_hex.sql": file("")}, "0x1_hex.sql"},
		{"version too large", fstest.MapFS{"99999999999999999999_big.sql": file("")}, "positive"},
		{"name with a dash", fstest.MapFS{"0001_a-b.sql": file("")}, "0001_a-b.sql"},
		{"same version", fstest.MapFS{"0001_a.sql": file(""), "1_b.sql": file("")}, "same version 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := migrate.Load(tc.fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v, %v; want an error containing %q", ms, err, tc.want)
			}
		})
	}
}

func TestPending(t *testing.T) {
	ms := []migrate.Migration{{Version: 1, Name: "0001_a"}, {Version: 2, Name: "0002_b"}, {Version: 5, Name: "0005_c"}}
	for _, tc := range []struct {
		applied []int
		want    []int // versions
	}{
		{nil, []int{1, 2, 5}},
		{[]int{1}, []int{2, 5}},
		{[]int{2, 1}, []int{5}},
		{[]int{1, 5}, []int{2}}, // a gap is filled
		{[]int{5, 2, 1}, nil},
		{[]int{1, 1}, []int{2, 5}},
	} {
		got, err := migrate.Pending(ms, tc.applied)
		if err != nil {
			t.Errorf("Pending(%v): %v", tc.applied, err)
			continue
		}
		var versions []int
		for _, m := range got {
			versions = append(versions, m.Version)
		}
		if diff := cmp.Diff(tc.want, versions); diff != "" {
			t.Errorf("Pending(%v) versions (-want +got):\n%s", tc.applied, diff)
		}
	}
}

func TestPendingRefusesUnknownVersions(t *testing.T) {
	ms := []migrate.Migration{{Version: 1, Name: "0001_a"}, {Version: 3, Name: "0003_c"}}
	for _, applied := range [][]int{{1, 3, 4}, {2}, {9999}} {
		if got, err := migrate.Pending(ms, applied); err == nil {
			t.Errorf("Pending(%v) = %v, want an error (a newer release migrated the database)", applied, got)
		}
	}
}
