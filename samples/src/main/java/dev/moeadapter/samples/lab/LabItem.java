package dev.moeadapter.samples.lab;

/**
 * One lab item: {@code TAG:x1=y1,x2=y2,q=} → {@code answer}. {@code tag} is the tag written in the
 * prompt: the task's own (in distribution), {@link LabSuite#UNTAGGED} (task shown only by the
 * demonstrations), another task's (the misleading splits) or one of the task's aliases (the chain family's alias splits).
 */
public record LabItem(String id, LabTask task, String tag, String prompt, String answer) {

    /** Whether the tag is neither the task's own nor absent: another task's, or an alias. */
    public boolean shifted() { return !tag.equals(task.tag()) && !tag.equals(LabSuite.UNTAGGED); }
}
