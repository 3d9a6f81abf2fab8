package storetest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/patkit/patkit"
	"github.com/patkit/patkit/memstore"
	"github.com/patkit/patkit/storetest"
)

// conformance is the test a backend writes, as TestConformance in a
// _test.go file of its own package: the suite, on a fresh store for every
// subtest. Here the backend is memstore.
func conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) patkit.Store {
		s := memstore.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// Run needs the *testing.T of a running test. This example runs the
// backend's test as go test would, with testing.RunTests, and prints the
// verdict.
func ExampleRun() {
	ran := false
	tests := []testing.InternalTest{{Name: "TestConformance", F: func(t *testing.T) {
		ran = true
		conformance(t)
	}}}
	// Run it whatever go test's -run pattern, which selected this example.
	all := func(pattern, name string) (bool, error) { return true, nil }

	// RunTests reports (every subtest with -v, the failures without) on
	// os.Stdout, which is this example's output: send that to stderr.
	stdout := os.Stdout
	os.Stdout = os.Stderr
	ok := testing.RunTests(all, tests)
	os.Stdout = stdout

	fmt.Println("memstore conforms:", ran && ok)
	// Output:
	// memstore conforms: true
}
