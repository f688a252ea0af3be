package publish

import (
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"acceso/rules"
)

// Files lists a source as file path to text: modules by their path,
// message files under locales/, documents by their path.
func Files(src rules.Source) map[string]string {
	files := make(map[string]string, len(src.Modules)+len(src.Messages)+len(src.Docs))
	maps.Copy(files, src.Modules)
	maps.Copy(files, src.Docs)
	for name, b := range src.Messages {
		files[path.Join("locales", name)] = string(b)
	}
	return files
}

// Diff is a unified diff, file by file, of what changed from a to b.
func Diff(a, b rules.Source) string { return diffFiles(Files(a), Files(b)) }

// diffFiles is a unified diff, file by file, of what changed from the
// files fa to the files fb, each named by its path.
func diffFiles(fa, fb map[string]string) string {
	names := slices.Sorted(maps.Keys(fa))
	for name := range fb {
		if _, ok := fa[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out strings.Builder
	for _, name := range names {
		if fa[name] == fb[name] {
			continue
		}
		out.WriteString(udiff.Unified("a/"+name, "b/"+name, fa[name], fb[name]))
	}
	return out.String()
}
