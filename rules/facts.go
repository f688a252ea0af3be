package rules

import (
	"acceso/knowledge"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// maxAskedChoices bounds the choices of a fact someone is asked about.
const maxAskedChoices = 4

var factTypes = []string{knowledge.TypeBoolean, knowledge.TypeCount, knowledge.TypeChoices, knowledge.TypeString, knowledge.TypeStrings}

// factPositions finds where each fact is declared: the key of the facts
// object (facts := {...}) in the topic's package pkg, and where that
// object is, for a problem with the object itself.
func factPositions(modules map[string]*ast.Module, pkg ast.Ref) (keys map[string]*ast.Location, decl *ast.Location) {
	keys = make(map[string]*ast.Location)
	for _, m := range modules {
		if !m.Package.Path.Equal(pkg) {
			continue
		}
		for _, r := range m.Rules {
			if r.Head.Name != "facts" || len(r.Head.Ref()) != 1 || r.Head.Value == nil {
				continue
			}
			decl = r.Location
			obj, ok := r.Head.Value.Value.(ast.Object)
			if !ok {
				continue
			}
			obj.Foreach(func(k, _ *ast.Term) {
				if name, ok := k.Value.(ast.String); ok && k.Location != nil {
					keys[string(name)] = k.Location
				}
			})
		}
	}
	return keys, decl
}

// readFacts reads the facts a topic declares (data.<topic>.facts, named
// where), in asking order (the contact's first, then the admin's, then the
// rest, each in the order written), and says what is wrong with any
// declaration, at its file and line.
func readFacts(v any, keys map[string]*ast.Location, decl *ast.Location, where string) ([]knowledge.Fact, knowledge.Problems) {
	at := func(name string) knowledge.Problem {
		loc := keys[name]
		if loc == nil {
			loc = decl
		}
		if loc == nil {
			return knowledge.Problem{File: "rules"}
		}
		return knowledge.Problem{File: loc.File, Line: loc.Row}
	}
	decls, ok := v.(map[string]any)
	if !ok || len(decls) == 0 {
		p := at("")
		p.Message = where + " must be an object declaring every fact"
		return nil, knowledge.Problems{p}
	}
	var facts []knowledge.Fact
	var problems knowledge.Problems
	bad := func(name, format string, args ...any) {
		p := at(name)
		p.Message = "facts." + name + ": " + fmt.Sprintf(format, args...)
		problems = append(problems, p)
	}
	for _, name := range slices.Sorted(maps.Keys(decls)) {
		d, ok := decls[name].(map[string]any)
		if !ok {
			bad(name, "must be an object")
			continue
		}
		f := knowledge.Fact{Name: name}
		if p := at(name); p.Line > 0 {
			f.File, f.Line = p.File, p.Line
		}
		for key, val := range d {
			switch key {
			case "type":
				f.Type, _ = val.(string)
			case "choices":
				f.Choices = stringList(val)
			case "personal":
				f.Personal, ok = val.(bool)
				if !ok {
					bad(name, "personal must be true or false")
				}
			case "asked_of":
				f.AskedOf, _ = val.(string)
				if f.AskedOf != knowledge.AskedOfContact && f.AskedOf != knowledge.AskedOfAdmin {
					bad(name, "asked_of must be %q or %q (leave it out when nobody is asked)", knowledge.AskedOfContact, knowledge.AskedOfAdmin)
				}
			case "order":
				bad(name, "order is no longer read: the asking order is the order the facts are written in")
			case "description":
				f.Description, _ = val.(string)
			default:
				bad(name, "unknown key %q (want type, choices, personal, asked_of, description)", key)
			}
		}
		switch {
		case !slices.Contains(factTypes, f.Type):
			bad(name, "type must be one of %s", strings.Join(factTypes, ", "))
		case f.Type == knowledge.TypeChoices && len(f.Choices) == 0:
			bad(name, "a choices fact must list its choices")
		case f.Type != knowledge.TypeChoices && f.Choices != nil:
			bad(name, "only a choices fact has choices")
		case f.Asked() && f.Type != knowledge.TypeBoolean && f.Type != knowledge.TypeChoices:
			bad(name, "only boolean and choices facts can be asked")
		case f.Description == "":
			bad(name, "description must say what the fact means")
		case f.Asked() && f.Type == knowledge.TypeChoices && len(f.Choices) > maxAskedChoices:
			bad(name, "a choices fact a contact is asked has at most %d choices: the site offers every combination as a link", maxAskedChoices)
		case f.Asked() && f.Personal:
			bad(name, "a personal fact is never asked: its answer would end up in a URL")
		}
		facts = append(facts, f)
	}
	slices.SortStableFunc(facts, func(a, b knowledge.Fact) int {
		return cmp.Or(cmp.Compare(askRank(a), askRank(b)), strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), strings.Compare(a.Name, b.Name))
	})
	return facts, problems
}

// askRank sorts the contact's facts first, then the admin's, then those
// nobody is asked.
func askRank(f knowledge.Fact) int {
	switch f.AskedOf {
	case knowledge.AskedOfContact:
		return 0
	case knowledge.AskedOfAdmin:
		return 1
	}
	return 2
}
