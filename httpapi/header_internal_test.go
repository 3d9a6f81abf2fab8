package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestHeaderKeysCanonical holds every key the package reads with
// headerValue, or sets by assigning to a header map, to its canonical
// form, which Header.Get and Header.Set would make of it: a key in
// another form would find nothing, or add a second header.
func TestHeaderKeysCanonical(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		check := func(e ast.Expr) {
			lit, ok := e.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a header key that is not a string literal", fset.Position(e.Pos()))
				return
			}
			key, _ := strconv.Unquote(lit.Value)
			if key != http.CanonicalHeaderKey(key) {
				t.Errorf("%s: header key %q, canonically %q", fset.Position(e.Pos()), key, http.CanonicalHeaderKey(key))
			}
			n++
		}
		ast.Inspect(file, func(node ast.Node) bool {
			switch x := node.(type) {
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && id.Name == "headerValue" && len(x.Args) == 2 {
					check(x.Args[1])
				}
			case *ast.AssignStmt:
				for _, lhs := range x.Lhs {
					ix, ok := lhs.(*ast.IndexExpr)
					if !ok {
						continue
					}
					// w.Header()[key] and h[key] with h := w.Header().
					if call, ok := ix.X.(*ast.CallExpr); ok {
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Header" {
							check(ix.Index)
						}
					} else if id, ok := ix.X.(*ast.Ident); ok && id.Name == "h" {
						check(ix.Index)
					}
				}
			}
			return true
		})
	}
	if n < 3 {
		t.Fatalf("%d header keys found: the test looks at nothing", n)
	}
}
