package reassembly

import "testing"

func TestAddUnseen(t *testing.T) {
	c := &Conn{half: &[2]half{}}
	c.half[FromClient].stats.Packets, c.half[FromClient].stats.Bytes = 3, 100
	c.AddUnseen(FromClient, 2, 50)
	c.AddUnseen(FromServer, 7, 9000)
	if s := c.Stats(FromClient); s.Packets != 5 || s.Bytes != 150 {
		t.Errorf("client %+v, want 5 packets, 150 bytes", s)
	}
	if s := c.Stats(FromServer); s.Packets != 7 || s.Bytes != 9000 {
		t.Errorf("server %+v, want 7 packets, 9000 bytes", s)
	}
	(&Conn{}).AddUnseen(FromClient, 1, 1) // recycled: no panic, nothing
}
