package jobs_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A workflow step is completed with the metadata its attempt set as
// mirrored by progress.Final (jobs.StepCompleter): a result recorded with
// river.RecordOutput, or a key set with river.MetadataSet, would be missing
// from the completion its dependents read. Only the two wrappers may call
// them.
func TestMetadataIsSetOnlyThroughTheMirroringWrappers(t *testing.T) {
	allowed := map[string]bool{
		filepath.Join("internal", "jobs", "stepcomplete.go"): true,
		filepath.Join("internal", "progress", "final.go"):    true,
	}
	root := filepath.Join("..", "..")
	var offenders []string
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && isRiver(call.Fun, "ResumableStep", "ResumableStepCursor") && len(call.Args) == 4 && !wrapped(call.Args[3]) {
				offenders = append(offenders, rel+": a resumable step not wrapped in jobs.Step or jobs.CursorStep")
			}
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "river" && (sel.Sel.Name == "RecordOutput" || sel.Sel.Name == "MetadataSet") && !allowed[rel] {
				offenders = append(offenders, rel+": river."+sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, checked, 100, "the walk reached the module's sources")
	require.Empty(t, offenders, "use jobs.RecordOutput and progress.SetMetadata; wrap resumable steps (their errors reach no middleware)")
}

func isRiver(fun ast.Expr, names ...string) bool {
	if ix, ok := fun.(*ast.IndexExpr); ok { // ResumableStepCursor[T]
		fun = ix.X
	}
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "river" && slices.Contains(names, sel.Sel.Name)
}

// wrapped reports whether a step function is Step(...) or CursorStep(...),
// of this package or jobs.
func wrapped(arg ast.Expr) bool {
	call, ok := arg.(*ast.CallExpr)
	if !ok {
		return false
	}
	fun := call.Fun
	if ix, ok := fun.(*ast.IndexExpr); ok {
		fun = ix.X
	}
	switch f := fun.(type) {
	case *ast.Ident:
		return f.Name == "Step" || f.Name == "CursorStep"
	case *ast.SelectorExpr:
		return f.Sel.Name == "Step" || f.Sel.Name == "CursorStep"
	}
	return false
}
