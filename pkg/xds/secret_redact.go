package xds

import (
	"github.com/cncf/xds/go/udpa/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Redacted replaces sensitive values in dumps, as in Envoy's /config_dump.
const Redacted = "[redacted]"

// Redact returns m unchanged when it holds nothing sensitive, else a copy in which every field Envoy's
// protos mark (udpa.annotations.sensitive) — private keys, passwords, session ticket keys, generic
// secrets — is redacted the way Envoy's config_dump does it: strings and bytes below a sensitive field
// become "[redacted]", other values are cleared. Any payloads are searched too. Everything that prints
// configuration goes through here, so a dump never shows a private key.
func Redact[T proto.Message](m T) T {
	if !hasSensitive(m.ProtoReflect(), false) {
		return m
	}
	c := proto.CloneOf(m)
	redact(c.ProtoReflect(), false)
	return c
}

func isSensitive(fd protoreflect.FieldDescriptor) bool {
	v, _ := proto.GetExtension(fd.Options(), annotations.E_Sensitive).(bool)
	return v
}

// hasSensitive says whether redact would change anything: a set field that is sensitive or under one.
func hasSensitive(m protoreflect.Message, under bool) bool {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		return err == nil && hasSensitive(inner.ProtoReflect(), under)
	}
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		s := under || isSensitive(fd)
		switch {
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				found = hasSensitive(mv.Message(), s)
				return !found
			})
		case fd.Message() != nil && fd.IsList():
			for i := 0; i < v.List().Len() && !found; i++ {
				found = hasSensitive(v.List().Get(i).Message(), s)
			}
		case fd.Message() != nil && !fd.IsMap():
			found = hasSensitive(v.Message(), s)
		default:
			found = s
		}
		return !found
	})
	return found
}

// redact changes m in place; see Redact. Map keys are left alone, as in Envoy, so a redacted map keeps
// its entries apart. Payloads of Any types unknown to this binary are left alone.
func redact(m protoreflect.Message, under bool) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil || !hasSensitive(inner.ProtoReflect(), under) {
			return
		}
		redact(inner.ProtoReflect(), under)
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(inner)
		if err != nil {
			b = nil
		}
		a.Value = b
		return
	}
	type field struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var fields []field // mutating a message while ranging over it is not allowed
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fields = append(fields, field{fd, v})
		return true
	})
	for _, f := range fields {
		fd, s := f.fd, under || isSensitive(f.fd)
		switch {
		case fd.IsMap():
			mp := f.v.Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			for _, k := range keys {
				if fd.MapValue().Message() != nil {
					redact(mp.Get(k).Message(), s)
				} else if s {
					mp.Set(k, redactedValue(fd.MapValue()))
				}
			}
		case fd.IsList():
			l := f.v.List()
			for i := 0; i < l.Len(); i++ {
				if fd.Message() != nil {
					redact(l.Get(i).Message(), s)
				} else if s {
					l.Set(i, redactedValue(fd))
				}
			}
		case fd.Message() != nil:
			redact(f.v.Message(), s)
		case s && (fd.Kind() == protoreflect.StringKind || fd.Kind() == protoreflect.BytesKind):
			m.Set(fd, redactedValue(fd))
		case s:
			m.Clear(fd)
		}
	}
}

// redactedValue is "[redacted]" for strings and bytes, the zero value otherwise.
func redactedValue(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(Redacted)
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(Redacted))
	}
	return fd.Default()
}
