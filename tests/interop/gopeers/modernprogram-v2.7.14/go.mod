module interop.test/modernprogram

go 1.25.9

require (
	github.com/modernprogram/groupcache/v2 v2.7.14
	interop.test/front v0.0.0
)

require (
	github.com/segmentio/fasthash v1.0.3 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

replace interop.test/front => ../front
