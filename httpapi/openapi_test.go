package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/patkit/patkit/httpapi"
)

// The OpenAPI document cannot drift from the handler: TestOpenAPIRoutes
// holds its paths to the routing table both ways, and conform validates
// every response the tests of this package produce against it.

// specURL is where the compiler finds the document: schemas are compiled
// from locations in it, and their $refs resolve within it.
const specURL = "https://patkit.invalid/openapi.json"

// apiSpec is the OpenAPI document, ready to check responses.
type apiSpec struct {
	doc map[string]any
	// mux matches a request to its operation exactly as the handler's
	// own ServeMux does: one pattern per operation, and "/" for the rest.
	mux *http.ServeMux
	c   *jsonschema.Compiler

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema // by location in the document
}

// validated counts the responses conform checked; exercised holds the
// operations (mux patterns) they answered.
var (
	validated atomic.Int64
	exercised sync.Map
)

var loadSpec = sync.OnceValues(func() (*apiSpec, error) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	s := &apiSpec{mux: http.NewServeMux(), c: jsonschema.NewCompiler(), schemas: map[string]*jsonschema.Schema{}}
	s.doc, _ = v.(map[string]any)
	s.c.DefaultDraft(jsonschema.Draft2020)
	s.c.AssertFormat()
	if err := s.c.AddResource(specURL, v); err != nil {
		return nil, err
	}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, op := range s.operations() {
		s.mux.Handle(op[0]+" /api/v4"+op[1], noop)
	}
	s.mux.Handle("/", noop)
	return s, nil
})

func spec(t testing.TB) *apiSpec {
	t.Helper()
	s, err := loadSpec()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	return s
}

// operations returns the method (upper case) and path of every operation
// of the document.
func (s *apiSpec) operations() [][2]string {
	var out [][2]string
	paths, _ := s.doc["paths"].(map[string]any)
	for p, item := range paths {
		item, _ := item.(map[string]any)
		for m := range item {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				out = append(out, [2]string{strings.ToUpper(m), p})
			}
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[1]+" "+a[0], b[1]+" "+b[0]) })
	return out
}

// pointer escapes tokens into a JSON pointer.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
	}
	return b.String()
}

// lookup returns the value at the JSON pointer ptr of the document.
func (s *apiSpec) lookup(ptr string) (any, error) {
	var v any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not an object at %q", ptr, tok)
		}
		if v, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%s: no %q", ptr, tok)
		}
	}
	return v, nil
}

// object returns the object at ptr, following a $ref (within the
// document), and the pointer it was found at.
func (s *apiSpec) object(ptr string) (map[string]any, string, error) {
	for range 8 {
		v, err := s.lookup(ptr)
		if err != nil {
			return nil, "", err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("%s is not an object", ptr)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, ptr, nil
		}
		ptr = strings.TrimPrefix(ref, "#")
	}
	return nil, "", fmt.Errorf("%s: $ref chain too long", ptr)
}

// schema returns the compiled schema at ptr.
func (s *apiSpec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	frag := ptr
	for _, c := range []string{"%", "{", "}"} { // a URL fragment
		frag = strings.ReplaceAll(frag, c, url.PathEscape(c))
	}
	sch, err := s.c.Compile(specURL + "#" + frag)
	if err != nil {
		return nil, err
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// validate validates v against the schema at ptr.
func (s *apiSpec) validate(ptr string, v any) error {
	sch, err := s.schema(ptr)
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// check reports how the response (status, header, body) to r, which
// matched the mux pattern, departs from the document.
func (s *apiSpec) check(r *http.Request, pattern string, status int, header http.Header, body []byte) error {
	if pattern == "/" || pattern == "" {
		// No route: GitLab's catch-all 404.
		if status != http.StatusNotFound {
			return fmt.Errorf("no operation matches, and the status is %d, not 404", status)
		}
		return s.checkResponse(pointer("components", "responses", "NotFound"), r, header, body)
	}
	method, p, _ := strings.Cut(pattern, " ")
	p = strings.TrimPrefix(p, "/api/v4")
	opPtr := pointer("paths", p, strings.ToLower(method))
	responses, _, err := s.object(opPtr + "/responses")
	if err != nil {
		return err
	}
	code := strconv.Itoa(status)
	if _, ok := responses[code]; !ok {
		return fmt.Errorf("status %d is not documented for %s %s", status, method, p)
	}
	return s.checkResponse(opPtr+pointer("responses", code), r, header, body)
}

// checkResponse checks the header and body against the response object
// at ptr.
func (s *apiSpec) checkResponse(ptr string, r *http.Request, header http.Header, body []byte) error {
	resp, ptr, err := s.object(ptr)
	if err != nil {
		return err
	}
	var errs []error
	headers, _ := resp["headers"].(map[string]any)
	for name := range headers {
		h, hptr, err := s.object(ptr + pointer("headers", name))
		if err != nil {
			return err
		}
		vs, present := header[http.CanonicalHeaderKey(name)]
		if !present {
			if req, _ := h["required"].(bool); req {
				errs = append(errs, fmt.Errorf("required header %s missing", name))
			}
			continue
		}
		for _, v := range vs {
			if err := s.validate(hptr+"/schema", v); err != nil {
				errs = append(errs, fmt.Errorf("header %s: %q: %v", name, v, err))
			}
		}
	}
	content, _ := resp["content"].(map[string]any)
	if content == nil {
		if len(body) > 0 {
			errs = append(errs, fmt.Errorf("a body where the document has none: %q", body))
		}
		return errors.Join(errs...)
	}
	if len(body) == 0 && r.Method == http.MethodHead {
		return errors.Join(errs...)
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("Content-Type %q: %v", header.Get("Content-Type"), err))...)
	}
	if _, ok := content[mt]; !ok {
		return errors.Join(append(errs, fmt.Errorf("Content-Type %s is not documented", mt))...)
	}
	var v any = string(body)
	if mt == "application/json" {
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			return errors.Join(append(errs, fmt.Errorf("body is not JSON: %v", err))...)
		}
	}
	if err := s.validate(ptr+pointer("content", mt, "schema"), v); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// conform returns h with every response it writes checked against the
// OpenAPI document: a response of an undocumented status, without a
// required header, or whose body departs from the schema fails t.
// Benchmarks and fuzz setups get h itself (a fuzz target wraps its own
// handler with its *testing.T).
func conform(t testing.TB, h http.Handler) http.Handler {
	tt, ok := t.(*testing.T)
	if !ok {
		return h
	}
	s := spec(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pattern := s.mux.Handler(r)
		if !httpapi.Clean(r.URL.Path) {
			// A path that is not clean names no operation, whichever the
			// mux would redirect it to.
			pattern = ""
		}
		method, u := r.Method, r.URL.String()
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		if tw.status == 0 {
			tw.status = http.StatusOK
		}
		validated.Add(1)
		exercised.Store(pattern, true)
		if err := s.check(r, pattern, tw.status, w.Header(), tw.body.Bytes()); err != nil {
			b := tw.body.String()
			if len(b) > 500 {
				b = b[:500] + "..."
			}
			tt.Errorf("response does not conform to openapi.json: %s %s → %d %s\n%v", method, u, tw.status, b, err)
		}
	})
}

// teeWriter records the status and body a handler writes through it.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() && validated.Load() > 0 {
		fmt.Printf("openapi: %d responses validated against openapi.json\n", validated.Load())
		if s, err := loadSpec(); err == nil {
			for _, op := range s.operations() {
				if _, ok := exercised.Load(op[0] + " /api/v4" + op[1]); !ok {
					fmt.Printf("openapi: no response validated for %s %s\n", op[0], op[1])
				}
			}
		}
	}
	os.Exit(code)
}
