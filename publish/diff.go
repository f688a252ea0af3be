package publish

import (
	"acceso/knowledge"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

// Files lists a source as file path to text: modules by their path,
// message files under locales/, documents by their path.
func Files(src knowledge.Source) map[string]string {
	files := make(map[string]string, len(src.Modules)+len(src.Messages)+len(src.Docs))
	maps.Copy(files, src.Modules)
	maps.Copy(files, src.Docs)
	for name, b := range src.Messages {
		files[path.Join("locales", name)] = string(b)
	}
	return files
}

// Diff is a unified diff, file by file, of what changed from a to b.
func Diff(a, b knowledge.Source) string { return diffFiles(Files(a), Files(b)) }

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
		out.WriteString(fixHunkStarts(udiff.Unified("a/"+name, "b/"+name, fa[name], fb[name])))
	}
	return out.String()
}

// hunkHeader is a unified diff's hunk header: old start and count, new
// start and count (a count of 1 may be left out).
var hunkHeader = regexp.MustCompile(`(?m)^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@`)

// fixHunkStarts rewrites the new-side start of each hunk of one file's
// diff as diff -u gives it: the old start moved by the lines every earlier
// hunk added or removed. The diff library counts it wrong after a hunk
// that changes the number of lines (@@ -77,7 +65,7 @@ where diff -u
// says +81).
func fixHunkStarts(diff string) string {
	delta := 0
	return hunkHeader.ReplaceAllStringFunc(diff, func(h string) string {
		m := hunkHeader.FindStringSubmatch(h)
		oldStart, _ := strconv.Atoi(m[1])
		oldCount, newCount := hunkCount(m[2]), hunkCount(m[4])
		newStart := oldStart + delta
		if oldCount == 0 {
			newStart++ // the old start names the line before an insertion
		}
		if newCount == 0 {
			newStart-- // and the new start the line before a deletion
		}
		delta += newCount - oldCount
		return fmt.Sprintf("@@ -%s%s +%d%s @@", m[1], m[2], newStart, m[4])
	})
}

// hunkCount reads a hunk header's ",count", which is 1 when left out.
func hunkCount(s string) int {
	if s == "" {
		return 1
	}
	n, _ := strconv.Atoi(s[1:])
	return n
}
