package sandbox

// routesDeliver registers the successor card API, POST /v1.0/card/instances/createAndDeliver.
func (s *Sandbox) routesDeliver() {}
