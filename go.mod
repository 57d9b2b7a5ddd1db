module github.com/fastsniff/fastsniff

go 1.26.0

require (
	github.com/cilium/ebpf v0.22.0 // indirect
	github.com/ebitengine/purego v0.11.3 // indirect
	github.com/gopacket/gopacket v1.7.7 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
