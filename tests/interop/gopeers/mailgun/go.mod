module interop.test/mailgun

go 1.24

require (
	github.com/mailgun/groupcache/v2 v2.6.0
	interop.test/front v0.0.0
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	github.com/segmentio/fasthash v1.0.3 // indirect
	github.com/sirupsen/logrus v1.9.2 // indirect
	golang.org/x/sys v0.28.0 // indirect
	google.golang.org/protobuf v1.35.2 // indirect
)

replace interop.test/front => ../front
