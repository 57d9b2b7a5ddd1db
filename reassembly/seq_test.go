package reassembly

import "testing"

func TestSeq(t *testing.T) {
	cases := []struct {
		a, b     Seq
		less, le bool
		diff     int32
	}{
		{1, 2, true, true, -1},
		{2, 1, false, false, 1},
		{5, 5, false, true, 0},
		{0xfffffff0, 0x10, true, true, -0x20},
		{0x10, 0xfffffff0, false, false, 0x20},
		{0, 0x7fffffff, true, true, -0x7fffffff},
	}
	for _, c := range cases {
		if got := c.a.LessThan(c.b); got != c.less {
			t.Errorf("%d.LessThan(%d)=%v", c.a, c.b, got)
		}
		if got := c.a.LessThanEq(c.b); got != c.le {
			t.Errorf("%d.LessThanEq(%d)=%v", c.a, c.b, got)
		}
		if got := c.a.Diff(c.b); got != c.diff {
			t.Errorf("%d.Diff(%d)=%d, want %d", c.a, c.b, got, c.diff)
		}
	}
	if got := Seq(0xfffffffe).Add(5); got != 3 {
		t.Errorf("Add across the wrap: %d", got)
	}
	if !Seq(2).InWindow(0xfffffffe, 10) || Seq(9).InWindow(0xfffffffe, 10) {
		t.Errorf("InWindow across the wrap")
	}
}

func TestKeyIsSymmetric(t *testing.T) {
	sc := defScript()
	sc.vlan = []uint16{10}
	a := sc.seg(pkt{from: 'c', flags: "S"})
	b := sc.seg(pkt{from: 's', flags: "S."})
	ka, ha := KeyOf(a, false)
	kb, hb := KeyOf(b, false)
	if ka != kb || ha == hb || ka.Hash() != kb.Hash() {
		t.Fatalf("keys differ: %v/%v %v/%v", ka, kb, ha, hb)
	}
	kv, _ := KeyOf(a, true)
	if kv == ka || kv.VLANs.N != 0 {
		t.Errorf("IgnoreVLAN kept the VLAN in the key")
	}
	c := *a
	c.VLANs = VLANs{}
	c.VLANs.Push(11)
	if kc, _ := KeyOf(&c, false); kc == ka {
		t.Errorf("different VLANs, same key")
	}
}

func TestFlagsString(t *testing.T) {
	if s := (SYN | ACK).String(); s != "S." {
		t.Errorf("%q", s)
	}
	if s := (FIN | PSH | ACK).String(); s != "FP." {
		t.Errorf("%q", s)
	}
}
