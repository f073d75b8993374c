"""Pure webhook ingress rules: signature check, routing by order, normalisation. No Kafka, no HTTP."""
