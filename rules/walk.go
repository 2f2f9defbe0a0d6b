package rules

import (
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The walkers go through the parse tree by protobuf reflection rather than
// by a switch over node types, so that a node type added in a new
// PostgreSQL grammar is still searched for function calls and tables:
// nothing is skipped because belay's code does not know it yet.

// member is one field of a message, or one oneof group (a Node holds its
// statement or expression in a oneof of some 270 fields: asking each
// whether it is set would dominate the walk).
type member struct {
	field protoreflect.FieldDescriptor // nil for a oneof
	oneof protoreflect.OneofDescriptor
}

// members caches, per message type, its members in field order; with
// messagesOnly, the members that can hold messages.
var membersCache sync.Map // membersKey → []member

type membersKey struct {
	name         protoreflect.FullName
	messagesOnly bool
}

func members(md protoreflect.MessageDescriptor, messagesOnly bool) []member {
	key := membersKey{md.FullName(), messagesOnly}
	if v, ok := membersCache.Load(key); ok {
		return v.([]member)
	}
	var out []member
	seen := map[protoreflect.FullName]bool{}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.IsMap() || fd.Name() == "location" {
			continue // locations differ between equal trees; maps: none in the parse tree
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if !seen[od.FullName()] {
				seen[od.FullName()] = true
				out = append(out, member{oneof: od})
			}
			continue
		}
		if messagesOnly && fd.Message() == nil {
			continue
		}
		out = append(out, member{field: fd})
	}
	membersCache.Store(key, out)
	return out
}

// set returns the member's field when it is set in m.
func (mb member) set(m protoreflect.Message) protoreflect.FieldDescriptor {
	if mb.oneof != nil {
		return m.WhichOneof(mb.oneof)
	}
	if m.Has(mb.field) {
		return mb.field
	}
	return nil
}

// eachChild calls fn with every message held directly in m's fields (the
// set member of a Node's oneof, each element of a list), in field-number
// order, with the field that holds it.
func eachChild(m protoreflect.Message, fn func(fd protoreflect.FieldDescriptor, child protoreflect.Message)) {
	if m == nil || !m.IsValid() {
		return
	}
	for _, mb := range members(m.Descriptor(), true) {
		fd := mb.set(m)
		if fd == nil || fd.Message() == nil {
			continue
		}
		v := m.Get(fd)
		if fd.IsList() {
			l := v.List()
			for j := 0; j < l.Len(); j++ {
				if c := l.Get(j).Message(); c.IsValid() {
					fn(fd, c)
				}
			}
			continue
		}
		if c := v.Message(); c.IsValid() {
			fn(fd, c)
		}
	}
}

// walk calls visit for m and every message below it, parents first;
// visit returns false to skip a message's children.
func walk(m protoreflect.Message, visit func(protoreflect.Message) bool) {
	if m == nil || !m.IsValid() || !visit(m) {
		return
	}
	eachChild(m, func(_ protoreflect.FieldDescriptor, c protoreflect.Message) { walk(c, visit) })
}

// sameTree reports whether two parse trees are equal but for their
// location fields (byte offsets into the text), which differ between the
// two sides of `x = x`. With literals true, any two A_Const nodes of the
// kind the shape lexer cuts out (numbers, strings, bit strings) compare
// equal: the trees' shape, as the cache sees it.
func sameTree(a, b protoreflect.Message, literals bool) bool {
	if a == nil || b == nil || !a.IsValid() || !b.IsValid() {
		return (a != nil && a.IsValid()) == (b != nil && b.IsValid())
	}
	md := a.Descriptor()
	if md != b.Descriptor() {
		return false
	}
	if literals && md.Name() == "A_Const" {
		if k := constKind(a); k == "number" || k == "sval" || k == "bsval" {
			return k == constKind(b)
		}
	}
	for _, mb := range members(md, false) {
		fa, fb := mb.set(a), mb.set(b)
		if fa != fb {
			return false
		}
		if fa == nil {
			continue
		}
		va, vb := a.Get(fa), b.Get(fa)
		if !fa.IsList() {
			if !sameValue(fa, va, vb, literals) {
				return false
			}
			continue
		}
		la, lb := va.List(), vb.List()
		if la.Len() != lb.Len() {
			return false
		}
		for j := 0; j < la.Len(); j++ {
			if !sameValue(fa, la.Get(j), lb.Get(j), literals) {
				return false
			}
		}
	}
	return true
}

func sameValue(fd protoreflect.FieldDescriptor, a, b protoreflect.Value, literals bool) bool {
	if fd.Message() != nil {
		return sameTree(a.Message(), b.Message(), literals)
	}
	return a.Equal(b)
}

// treeKey serialises a parse tree as sameTree compares it: equal keys,
// equal trees (for map lookups).
func treeKey(m protoreflect.Message, literals bool) string {
	var b strings.Builder
	writeTree(&b, m, literals)
	return b.String()
}

func writeTree(b *strings.Builder, m protoreflect.Message, literals bool) {
	if m == nil || !m.IsValid() {
		b.WriteString("~")
		return
	}
	md := m.Descriptor()
	b.WriteString(string(md.Name()))
	if literals && md.Name() == "A_Const" {
		if k := constKind(m); k == "number" || k == "sval" || k == "bsval" {
			b.WriteString("{" + k + "}")
			return
		}
	}
	b.WriteByte('{')
	for _, mb := range members(md, false) {
		fd := mb.set(m)
		if fd == nil {
			continue
		}
		b.WriteString(strconv.Itoa(int(fd.Number())))
		b.WriteByte(':')
		v := m.Get(fd)
		if fd.IsList() {
			l := v.List()
			b.WriteByte('[')
			for j := 0; j < l.Len(); j++ {
				writeValue(b, fd, l.Get(j), literals)
				b.WriteByte(',')
			}
			b.WriteByte(']')
		} else {
			writeValue(b, fd, v, literals)
		}
		b.WriteByte(';')
	}
	b.WriteByte('}')
}

func writeValue(b *strings.Builder, fd protoreflect.FieldDescriptor, v protoreflect.Value, literals bool) {
	switch {
	case fd.Message() != nil:
		writeTree(b, v.Message(), literals)
	case fd.Kind() == protoreflect.StringKind:
		b.WriteString(strconv.Quote(v.String()))
	default:
		b.WriteString(v.String()) // numbers, bools, enums: no separators inside
	}
}

// constKind is which member of an A_Const's oneof is set ("" for NULL),
// with integers and decimals alike: the shape lexer cuts both as numbers.
func constKind(m protoreflect.Message) string {
	od := m.Descriptor().Oneofs().ByName("val")
	if od == nil {
		return ""
	}
	fd := m.WhichOneof(od)
	if fd == nil {
		return ""
	}
	switch name := string(fd.Name()); name {
	case "ival", "fval":
		return "number"
	default:
		return name
	}
}
