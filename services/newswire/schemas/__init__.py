"""The JSON Schemas of the messages newswire publishes (article.v1.schema.json), shipped as
package data for consumers and for newswire.publish.message."""
