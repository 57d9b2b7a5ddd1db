package connlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// Record is one line of the log, for reading it back (tests, tools). It
// is decoded with encoding/json; the writer does not use it.
type Record struct {
	TS            float64  `json:"ts"`
	UID           string   `json:"uid"`
	OrigH         string   `json:"id.orig_h"`
	OrigP         uint16   `json:"id.orig_p"`
	RespH         string   `json:"id.resp_h"`
	RespP         uint16   `json:"id.resp_p"`
	VLAN          []uint16 `json:"vlan,omitempty"`
	RespVLAN      []uint16 `json:"resp_vlan,omitempty"`
	Tunnel        string   `json:"tunnel,omitempty"`
	Proto         string   `json:"proto"`
	Service       string   `json:"service,omitempty"`
	Duration      float64  `json:"duration"`
	OrigBytes     uint64   `json:"orig_bytes"`
	RespBytes     uint64   `json:"resp_bytes"`
	ConnState     string   `json:"conn_state"`
	LocalOrig     *bool    `json:"local_orig,omitempty"`
	LocalResp     *bool    `json:"local_resp,omitempty"`
	MissedBytes   uint64   `json:"missed_bytes"`
	History       string   `json:"history"`
	OrigPkts      uint64   `json:"orig_pkts"`
	RespPkts      uint64   `json:"resp_pkts"`
	CloseReason   string   `json:"close_reason"`
	OrigDelivered uint64   `json:"orig_delivered"`
	RespDelivered uint64   `json:"resp_delivered"`
	OrigSHA256    string   `json:"orig_sha256,omitempty"`
	RespSHA256    string   `json:"resp_sha256,omitempty"`
	CommunityID   string   `json:"community_id,omitempty"`
	TLSBypassed   bool     `json:"tls_bypassed,omitempty"`
	BypassedBytes uint64   `json:"bypassed_bytes,omitempty"`
}

// Read decodes a whole log: one Record per non-empty line, in file order.
// Unknown fields are rejected, so that a test notices a changed contract.
func Read(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var rec Record
		if err := dec.Decode(&rec); err != nil {
			return out, fmt.Errorf("connlog: line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Sort orders records by start time, then uid: a deterministic order for
// logs written by several workers.
func Sort(recs []Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].TS != recs[j].TS {
			return recs[i].TS < recs[j].TS
		}
		return recs[i].UID < recs[j].UID
	})
}

// SortLines returns the lines of a log sorted bytewise (what `sort` does
// with LC_ALL=C): a deterministic order for comparing whole logs. Every
// line keeps its '\n'.
func SortLines(log []byte) []byte {
	lines := bytes.SplitAfter(log, []byte{'\n'})
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	if n := len(lines); n > 0 && lines[n-1][len(lines[n-1])-1] != '\n' {
		lines[n-1] = append(lines[n-1][:len(lines[n-1]):len(lines[n-1])], '\n')
	}
	sort.Slice(lines, func(i, j int) bool { return bytes.Compare(lines[i], lines[j]) < 0 })
	return bytes.Join(lines, nil)
}
