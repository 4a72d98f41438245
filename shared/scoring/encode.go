package scoring

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"time"
	"unicode/utf8"
)

// Encoding format 2 (all integers varints; see README "State encoding"):
//
//	"LS" 2 | stage | stageSince | windowDay | identified | last | version
//	| milestones x4 | history | attribute sources | attributes | instant
//	| mark | pending | rules (non-empty only, by id) | dead bursts | prunedAt
//	| account id (flag, id, occurred_at, event_id) | account attributes
//
// Format 1 is format 2 without the two account parts (states written before
// accounts existed); it still decodes, as a lead with no account data.
//
// Per-rule days are delta-encoded, so a day costs about 2 bytes. Attribute
// values share a table of (occurred_at, event_id) sources because one event
// usually sets many attributes.
const formatVersion = 2

var stageCodes = []Stage{StageVisitor, StageLead, StageMQL, StageSQL, StageCustomer, StageNurture, StageDisqualified, StageExpired}

var outcomeCodes = []string{TypeSalesAccepted, TypeSalesRejected, TypeDealWon, TypeDealLost}

func stageCode(s Stage) byte {
	for i, c := range stageCodes {
		if c == s {
			return byte(i)
		}
	}
	return 0
}

type enc struct{ b []byte }

func (e *enc) u(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) byte(v byte) { e.b = append(e.b, v) }
func (e *enc) str(s string) {
	e.u(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.u(0)
		return
	}
	e.u(uint64(t.Nanosecond()) + 1)
	e.i(t.Unix())
}

// MarshalBinary encodes the state compactly for DynamoDB, which bills writes
// per KB. The encoding is deterministic.
func (s *State) MarshalBinary() ([]byte, error) {
	e := &enc{b: make([]byte, 0, 256)}
	e.b = append(e.b, 'L', 'S', formatVersion)
	e.header(s)
	e.history(s.history)
	if err := e.attrs(s.attrs); err != nil {
		return nil, err
	}
	e.refs(s)
	e.rules(s.rules)
	e.u(uint64(len(s.burstDead)))
	for _, id := range s.burstDead {
		e.str(id)
	}
	e.i(int64(s.prunedAt))
	e.bool(s.acctID != "")
	if s.acctID != "" {
		e.str(s.acctID)
		e.time(s.acctAt)
		e.str(s.acctEv)
	}
	if err := e.attrs(s.acctAttrs); err != nil {
		return nil, err
	}
	return e.b, nil
}

// header: stage, timestamps, flags and milestones.
func (e *enc) header(s *State) {
	e.byte(stageCode(s.stage))
	e.time(s.stageSince)
	e.i(int64(s.windowDay))
	e.bool(s.identified)
	e.time(s.last)
	e.i(int64(s.version))
	e.time(s.ms.MQLAt)
	e.time(s.ms.SQLAt)
	e.time(s.ms.CustomerAt)
	e.time(s.ms.NurtureAt)
}

func (e *enc) bool(b bool) {
	if b {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *enc) history(h []Transition) {
	e.u(uint64(len(h)))
	for _, t := range h {
		e.byte(stageCode(t.From))
		e.byte(stageCode(t.To))
		e.time(t.At)
		e.str(t.Reason)
		e.i(int64(t.RulesVersion))
	}
}

// source is where an attribute value came from: one event.
type source struct {
	at time.Time
	id string
}

// attrs writes attributes sorted by key, their sources in a shared table
// (one event usually sets several attributes).
func (e *enc) attrs(list []attr) error {
	attrs := append([]attr(nil), list...)
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].key < attrs[j].key })
	var srcs []source
	srcIdx := map[source]int{}
	for _, a := range attrs {
		k := source{a.at, a.id}
		if _, ok := srcIdx[k]; !ok {
			srcIdx[k] = len(srcs)
			srcs = append(srcs, k)
		}
	}
	e.u(uint64(len(srcs)))
	for _, k := range srcs {
		e.time(k.at)
		e.str(k.id)
	}
	e.u(uint64(len(attrs)))
	for _, a := range attrs {
		e.str(a.key)
		e.u(uint64(srcIdx[source{a.at, a.id}]))
		if err := e.value(a.val); err != nil {
			return errors.New("scoring: attribute " + a.key + " has an unsupported type")
		}
	}
	return nil
}

// value writes one attribute value: a tag byte, then the value. Whole
// numbers that fit a float64 exactly take the short varint form.
func (e *enc) value(val any) error {
	switch v := val.(type) {
	case string:
		e.byte('s')
		e.str(v)
	case bool:
		if v {
			e.byte('T')
		} else {
			e.byte('F')
		}
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 && !(v == 0 && math.Signbit(v)) {
			e.byte('i')
			e.i(int64(v))
		} else {
			e.byte('f')
			e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v))
		}
	default:
		return errors.New("unsupported type")
	}
	return nil
}

// ref writes a remembered event; outcomes store their type as a code.
func (e *enc) ref(r evRef, outcome bool) {
	if outcome {
		code := byte(0)
		for i, t := range outcomeCodes {
			if t == r.typ {
				code = byte(i)
			}
		}
		e.byte(code)
	} else {
		e.str(r.typ)
	}
	e.time(r.at)
	e.str(r.id)
}

// refs: the latest hand-raise, the applied-outcome mark, waiting outcomes.
func (e *enc) refs(s *State) {
	e.bool(s.instant.typ != "")
	if s.instant.typ != "" {
		e.ref(s.instant, false)
	}
	e.bool(s.mark.typ != "")
	if s.mark.typ != "" {
		e.ref(s.mark, true)
	}
	e.u(uint64(len(s.pending)))
	for _, p := range s.pending {
		e.ref(p, true)
	}
}

// rules writes the rules that hold days, by id, days delta-encoded.
func (e *enc) rules(rules []ruleDays) {
	n := 0
	for _, rd := range rules {
		if len(rd.days) > 0 {
			n++
		}
	}
	e.u(uint64(n))
	for _, rd := range rules {
		if len(rd.days) == 0 {
			continue
		}
		e.str(rd.id)
		e.u(uint64(len(rd.days)))
		prev := int32(0)
		for i, dc := range rd.days {
			if i == 0 {
				e.i(int64(dc.day))
			} else {
				e.u(uint64(dc.day - prev))
			}
			prev = dc.day
			e.u(uint64(dc.n))
		}
	}
}

var errCorrupt = errors.New("scoring: corrupt state encoding")

type dec struct {
	b   []byte
	err error
}

func (d *dec) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *dec) u() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i32() int32 {
	v := d.i()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int32(v)
}

func (d *dec) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// count reads a length and checks it against the bytes left (every element
// takes at least one byte), so garbage cannot make us allocate gigabytes.
func (d *dec) count() int {
	v := d.u()
	if v > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *dec) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	if !utf8.ValidString(s) {
		d.fail()
	}
	return s
}

// Times are limited to years 0001..9999, the range RFC 3339 can express.
const minUnix, maxUnix = -62135596800, 253402300799

func (d *dec) time() time.Time {
	ns := d.u()
	if ns == 0 || d.err != nil {
		return time.Time{}
	}
	if ns > 1e9 {
		d.fail()
		return time.Time{}
	}
	sec := d.i()
	if sec < minUnix || sec > maxUnix {
		d.fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(ns-1)).UTC()
	if t.IsZero() {
		d.fail()
	}
	return t
}

func (d *dec) stage() Stage {
	c := d.byte()
	if int(c) >= len(stageCodes) {
		d.fail()
		return StageVisitor
	}
	return stageCodes[c]
}

// UnmarshalBinary decodes a state written by MarshalBinary. It rejects any
// malformed input with an error and never panics.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) < 3 || b[0] != 'L' || b[1] != 'S' {
		return errCorrupt
	}
	if b[2] != 1 && b[2] != formatVersion {
		return errors.New("scoring: unknown state format version")
	}
	d := &dec{b: b[3:]}
	n := NewState()
	d.header(n)
	n.history = d.history()
	n.attrs = d.attrs()
	d.refs(n)
	n.rules = d.rules()
	n.burstDead = d.ids()
	n.prunedAt = d.i32()
	if b[2] >= 2 {
		d.account(n)
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return errors.New("scoring: trailing bytes after state")
	}
	*s = *n
	return nil
}

func (d *dec) header(n *State) {
	n.stage = d.stage()
	n.stageSince = d.time()
	n.windowDay = d.i32()
	n.identified = d.bool()
	n.last = d.time()
	n.version = int(d.i32())
	n.ms.MQLAt = d.time()
	n.ms.SQLAt = d.time()
	n.ms.CustomerAt = d.time()
	n.ms.NurtureAt = d.time()
}

func (d *dec) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

func (d *dec) history() []Transition {
	hn := d.count()
	if hn > maxHistory {
		d.fail()
	}
	var h []Transition
	for k := 0; k < hn && d.err == nil; k++ {
		h = append(h, Transition{From: d.stage(), To: d.stage(), At: d.time(), Reason: d.str(), RulesVersion: int(d.i32())})
	}
	return h
}

// attrs reads the source table, then attributes in strictly ascending key
// order (what MarshalBinary writes), so each input has one decoding.
func (d *dec) attrs() []attr {
	sn := d.count()
	srcs := make([]source, 0, sn)
	for k := 0; k < sn && d.err == nil; k++ {
		srcs = append(srcs, source{d.time(), d.str()})
	}
	an := d.count()
	var attrs []attr
	for k := 0; k < an && d.err == nil; k++ {
		key := d.str()
		si := d.u()
		if si >= uint64(len(srcs)) || (k > 0 && key <= attrs[k-1].key) {
			d.fail()
			break
		}
		attrs = append(attrs, attr{key: key, at: srcs[si].at, id: srcs[si].id, val: d.value()})
	}
	return attrs
}

// value reads what enc.value wrote, refusing any form enc.value would not
// have chosen (an empty string, a whole number written as a float).
func (d *dec) value() any {
	switch d.byte() {
	case 's':
		v := d.str()
		if v == "" {
			d.fail()
		}
		return v
	case 'T':
		return true
	case 'F':
		return false
	case 'i':
		v := d.i()
		if v >= 1<<53 || v <= -(1<<53) {
			d.fail()
		}
		return float64(v)
	case 'f':
		if len(d.b) < 8 {
			d.fail()
			return nil
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.b = d.b[8:]
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 && !(f == 0 && math.Signbit(f)) {
			d.fail() // would have been encoded as 'i'
		}
		return f
	}
	d.fail()
	return nil
}

func (d *dec) outcome() evRef {
	c := d.byte()
	if int(c) >= len(outcomeCodes) {
		d.fail()
		return evRef{}
	}
	return evRef{typ: outcomeCodes[c], at: d.time(), id: d.str()}
}

func (d *dec) refs(n *State) {
	if d.bool() {
		n.instant = evRef{typ: d.str(), at: d.time(), id: d.str()}
		if n.instant.typ == "" {
			d.fail()
		}
	}
	if d.bool() {
		n.mark = d.outcome()
	}
	pn := d.count()
	if pn > maxPending {
		d.fail()
	}
	for k := 0; k < pn && d.err == nil; k++ {
		p := d.outcome()
		if k > 0 && !p.after(n.pending[k-1]) {
			d.fail()
		}
		n.pending = append(n.pending, p)
	}
}

func (d *dec) rules() []ruleDays {
	rn := d.count()
	seen := map[string]bool{}
	var rules []ruleDays
	for k := 0; k < rn && d.err == nil; k++ {
		rd := ruleDays{id: d.str()}
		if rd.id == "" || seen[rd.id] {
			d.fail()
			break
		}
		seen[rd.id] = true
		rd.days = d.days()
		rules = append(rules, rd)
	}
	return rules
}

// days reads one rule's non-empty, strictly ascending day counts.
func (d *dec) days() []dayCount {
	dn := d.count()
	if dn == 0 {
		d.fail()
	}
	days := make([]dayCount, 0, dn)
	var prev int64
	for j := 0; j < dn && d.err == nil; j++ {
		var day int64
		if j == 0 {
			day = d.i()
		} else {
			delta := d.u()
			if delta == 0 || delta > math.MaxInt32 {
				d.fail()
			}
			day = prev + int64(delta)
		}
		if day < math.MinInt32 || day > math.MaxInt32 {
			d.fail()
		}
		prev = day
		cnt := d.u()
		if cnt == 0 || cnt > math.MaxUint32 {
			d.fail()
		}
		days = append(days, dayCount{int32(day), uint32(cnt)})
	}
	return days
}

// ids reads a list of distinct non-empty ids (dead bursts).
func (d *dec) ids() []string {
	bn := d.count()
	seen := map[string]bool{}
	var ids []string
	for k := 0; k < bn && d.err == nil; k++ {
		id := d.str()
		if id == "" || seen[id] {
			d.fail()
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids
}

// account reads the account parts of format 2.
func (d *dec) account(n *State) {
	if d.bool() {
		n.acctID, n.acctAt, n.acctEv = d.str(), d.time(), d.str()
		if n.acctID == "" {
			d.fail()
		}
	}
	n.acctAttrs = d.attrs()
	if len(n.acctAttrs) > maxAccountAttrs {
		d.fail()
	}
}
