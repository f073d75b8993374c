"""The pure decision core: what an order change means for Peoplevox, inventory and the ERP.

Plain functions over typed data. Nothing here imports Kafka, Faust or HTTP:
the agents decode, call :mod:`streams.core.engine`, encode and send.
"""
