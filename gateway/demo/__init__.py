"""`fengqiao demo`: two regions, the Dalang and Qianfeng nodes, and the seed cases over HTTP."""
