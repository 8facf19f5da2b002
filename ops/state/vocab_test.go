package state

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The vocabulary's words are typed constants; outside the package that
// defines them they are not written as string literals where they are used
// as values (compared, switched on, looked up, or set as a Kind, Role, Store
// or System). Test files and the platform's own services are not scanned.
func TestVocabularyIsNotSpelledOutAsValues(t *testing.T) {
	words := map[string]string{} // word -> defining package dir
	for _, r := range Roles {
		words[string(r)] = "ops/state"
	}
	for _, s := range []System{SystemKube, SystemKafka, SystemPrometheus, SystemPostgres, SystemRedis, SystemClickHouse, SystemHAProxy} {
		words[string(s)] = "ops/state"
	}
	for _, k := range []string{"scale", "partitions", "drain", "cordon", "uncordon", "promote", "backup"} {
		words[k] = "ops/action"
	}
	valueFields := map[string]bool{"Kind": true, "Role": true, "Store": true, "System": true}
	root := filepath.Join("..", "..")
	var found []string
	for _, dir := range []string{"ops", "ui", "cmd/wotr-tui", "backends"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			pkgDir := filepath.ToSlash(filepath.Dir(rel))
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			flag := func(e ast.Expr) {
				lit, ok := e.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return
				}
				v, _ := strconv.Unquote(lit.Value)
				if def, ok := words[v]; ok && def != pkgDir {
					found = append(found, fset.Position(lit.Pos()).String()+": "+lit.Value)
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BinaryExpr:
					// A URL's scheme is the URL's vocabulary, not ours.
					if sel, ok := n.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Scheme" {
						return true
					}
					if n.Op == token.EQL || n.Op == token.NEQ {
						flag(n.X)
						flag(n.Y)
					}
				case *ast.CaseClause:
					for _, e := range n.List {
						flag(e)
					}
				case *ast.IndexExpr:
					flag(n.Index)
				case *ast.KeyValueExpr:
					if id, ok := n.Key.(*ast.Ident); ok && valueFields[id.Name] {
						flag(n.Value)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range found {
		t.Errorf("%s is spelled out; use the typed constant", f)
	}
}
