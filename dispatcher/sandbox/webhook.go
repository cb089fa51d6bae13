package sandbox

// routesWebhook registers the direct robot webhook, POST /robot/send.
func (s *Sandbox) routesWebhook() {}
