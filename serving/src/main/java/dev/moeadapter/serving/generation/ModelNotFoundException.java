package dev.moeadapter.serving.generation;

import dev.moeadapter.core.InvalidRequestException;

/** A request named a model this service does not serve. */
public class ModelNotFoundException extends InvalidRequestException {
    public ModelNotFoundException(String requested, String served) {
        super("The model '" + requested + "' does not exist; this service serves '" + served + "'");
    }
}
