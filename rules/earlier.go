package rules

import (
	"acceso/knowledge"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// EarlierFormat finds in src what only the rules format of earlier
// releases had, which this one no longer reads: a cause's order and facts
// listed in its metadata (custom.order, custom.facts), custom.contact_can_try
// in place of the rule contact_can_try, and the causes' data that Go used to
// compute (data.acceso.causes). Each problem is at its file:line and says
// what to write instead; none means src is not of the earlier format.
func EarlierFormat(src knowledge.Source) knowledge.Problems {
	var problems knowledge.Problems
	for _, name := range slices.Sorted(maps.Keys(src.Modules)) {
		for i, line := range strings.Split(src.Modules[name], "\n") {
			if m := earlierMetadata.FindStringSubmatch(line); m != nil {
				problems = append(problems, knowledge.Problem{File: name, Line: i + 1, Message: earlierChange[m[1]]})
			} else if !strings.HasPrefix(strings.TrimSpace(line), "#") && strings.Contains(line, "data.acceso.causes") {
				problems = append(problems, knowledge.Problem{File: name, Line: i + 1, Message: earlierChange["data"]})
			}
		}
	}
	return problems
}

// earlierMetadata matches a key of a cause's custom metadata that only the
// earlier format had ("#   order: 4").
var earlierMetadata = regexp.MustCompile(`^#\s+(order|facts|contact_can_try):`)

// earlierChange says what to write instead of each mark of the earlier
// format.
var earlierChange = map[string]string{
	"order":           "custom.order is no longer read: remove it; a cause's place in the article is its place in the file, or custom.after: <cause id>",
	"facts":           "custom.facts is no longer read: remove it; the facts a cause rests on are the ones its rule reads",
	"contact_can_try": `custom.contact_can_try is no longer read: remove it and write the rule contact_can_try contains "<cause id>" beside the cause`,
	"data":            "data.acceso.causes is no longer given to the rules: use the decision.rego that acceso rules init writes (the rules work out the questions themselves)",
}

// EarlierFormatNote is what an admin reads first about a stored revision
// of the earlier format that this release cannot serve; name is the
// revision ("revision 3f2a… (#7)").
func EarlierFormatNote(name string) knowledge.Problem {
	return knowledge.Problem{File: name, Message: fmt.Sprint("was published for the earlier rules format, which this release no longer reads ",
		"(custom.order, custom.facts, custom.contact_can_try, data.acceso.causes), so it is not served; ",
		"to use it again, make its changes in a draft of the rules served now (or in a folder written by acceso rules init), as each line below says, and publish")}
}
